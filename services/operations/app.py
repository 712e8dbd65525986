"""Wires operations: a consumer-only service (publishes nothing) with its read model,
its dead-letter reader, the dashboard's static files and routes."""

from fastapi.staticfiles import StaticFiles

from services.host.runtime import build_service

from .api import STATIC, router
from .handlers import HANDLERS, on_dead_letter
from .settings import OperationsSettings
from .tables import OperationsBase


def create_app():
    api = build_service("operations", routers=[router], handlers=HANDLERS,
                        metadatas=(OperationsBase.metadata,), title="Continuum operations",
                        on_dead_letter=on_dead_letter,
                        per_participant=False)  # the daily event counts are shared by everyone
    api.state.operations_settings = OperationsSettings()
    api.mount("/static", StaticFiles(directory=STATIC), name="static")
    return api
