"""Wires planning: routes, event handlers and tables into one service process."""

from services.eventing.runtime import build_service

from .api import router
from .handlers import HANDLERS
from .tables import PlanningBase


def create_app():
    return build_service("planning", routers=[router], handlers=HANDLERS,
                         metadatas=(PlanningBase.metadata,), title="Continuum planning")
