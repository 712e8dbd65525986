"""Wires intake: its routes, its event handlers, its tables, the deployment's key management
(goals are sealed for the participant) and the sweep that escalates unacknowledged safety flags
into one service process."""

from services.host.runtime import build_service
from services.privacy.settings import local_key_management
from services.web.refusals import answer_refusals

from .api import router
from .handlers import HANDLERS
from .safety_api import router as safety_router
from .safety_flags import sweep
from .tables import IntakeBase


def create_app():
    def workers(rt) -> list:  # escalates flags nobody acknowledged in time
        rt.extras["safety_sweep"] = sweep(rt.unit_of_work)
        return [rt.extras["safety_sweep"]]

    app = build_service("intake", routers=[router, safety_router], handlers=HANDLERS,
                        metadatas=(IntakeBase.metadata,), title="Continuum intake", workers=workers)
    app.state.runtime.extras["keys"] = local_key_management()
    answer_refusals(app)
    return app
