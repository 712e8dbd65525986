"""Wires scheduling: routes, event handlers and tables into one service process."""

from services.eventing.runtime import build_service

from .api import router
from .handlers import HANDLERS
from .tables import SchedulingBase


def create_app():
    return build_service("scheduling", routers=[router], handlers=HANDLERS,
                         metadatas=(SchedulingBase.metadata,), title="Continuum scheduling")
