"""Wires intake: its routes, its event handlers and its tables into one service process."""

from services.eventing.runtime import build_service

from .api import router
from .handlers import HANDLERS
from .tables import IntakeBase


def create_app():
    return build_service("intake", routers=[router], handlers=HANDLERS,
                         metadatas=(IntakeBase.metadata,), title="Continuum intake")
