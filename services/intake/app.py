"""Wires intake: its routes, its event handlers and its tables into one service process."""

from services.eventing.runtime import build_service

from .api import refusal_response, router
from .handlers import HANDLERS
from .refusals import Refused
from .tables import IntakeBase


def create_app():
    app = build_service("intake", routers=[router], handlers=HANDLERS,
                        metadatas=(IntakeBase.metadata,), title="Continuum intake")
    app.add_exception_handler(Refused, refusal_response)
    return app
