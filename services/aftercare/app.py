"""Wires aftercare: routes, handlers, tables, and its background workers: the dispatcher (with
its Prefect and notification adapters) and the safety sweep (escalates unacknowledged flags)."""

from services.eventing.settings import ContinuumSettings
from services.host.runtime import build_service
from services.web.refusals import answer_refusals

from .api import router, safety_router
from .dispatcher import FollowUpDispatcher
from .follow_up_scheduler import PrefectFollowUpScheduler
from .handlers import Aftercare
from .notifications import FileNotifier, ReminderNotifier, smtp_sender
from .safety_flags import sweep
from .settings import AftercareSettings
from .tables import AftercareBase


def create_app():
    base = ContinuumSettings()
    settings = AftercareSettings()
    smtp = smtp_sender(settings, base)  # TLS only, except plain to a loopback test server in development
    aftercare = Aftercare(settings=settings)

    def workers(rt) -> list:
        scheduler = PrefectFollowUpScheduler(idempotency_prefix=base.topic_prefix)
        notifier = ReminderNotifier(
            FileNotifier(settings.notifications_file or base.data_dir / "notifications.jsonl"), smtp)
        rt.extras["dispatcher"] = FollowUpDispatcher(rt, scheduler, notifier)
        rt.extras["safety_sweep"] = sweep(rt.unit_of_work, settings, aftercare.clock)
        return [rt.extras["dispatcher"], rt.extras["safety_sweep"]]

    api = build_service("aftercare", routers=[router, safety_router], handlers=aftercare.handlers(),
                        metadatas=(AftercareBase.metadata,), title="Continuum aftercare", workers=workers)
    api.state.runtime.extras["aftercare"] = aftercare
    answer_refusals(api)
    return api
