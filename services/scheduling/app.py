"""Wires scheduling: routes, event handlers and tables into one service process."""

from services.host.runtime import ServiceRuntime, build_service
from services.web.refusals import answer_refusals

from .api import router
from .handlers import HANDLERS, prepare_store
from .tables import SchedulingBase


async def _seed(rt: ServiceRuntime) -> None:
    async with rt.db.transaction() as session:
        await prepare_store(session)


def create_app():
    app = build_service("scheduling", routers=[router], handlers=HANDLERS,
                        metadatas=(SchedulingBase.metadata,), title="Continuum scheduling", on_start=_seed)
    answer_refusals(app)
    return app
