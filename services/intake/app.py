"""Wires intake: its routes, its event handlers, its tables and the deployment's key
management (goals are sealed for the participant) into one service process."""

from services.eventing.runtime import build_service
from services.privacy.settings import local_key_management

from .api import refusal_response, router
from .handlers import HANDLERS
from .refusals import Refused
from .tables import IntakeBase


def create_app():
    app = build_service("intake", routers=[router], handlers=HANDLERS,
                        metadatas=(IntakeBase.metadata,), title="Continuum intake")
    app.state.runtime.extras["keys"] = local_key_management()
    app.add_exception_handler(Refused, refusal_response)
    return app
