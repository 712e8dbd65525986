"""Wires planning: routes, event handlers, tables and the deployment's key management (the
plan API opens the goals' sealed words) into one service process."""

from services.host.runtime import build_service
from services.privacy.settings import local_key_management
from services.web.refusals import answer_refusals

from .api import router
from .handlers import HANDLERS
from .tables import PlanningBase


def create_app():
    app = build_service("planning", routers=[router], handlers=HANDLERS,
                        metadatas=(PlanningBase.metadata,), title="Continuum planning")
    app.state.runtime.extras["keys"] = local_key_management()
    answer_refusals(app)
    return app
