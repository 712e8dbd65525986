"""Wires aftercare: routes, handlers with their Prefect and notification adapters, tables, and
the safety sweep (escalates unacknowledged safety flags) running beside the service."""

import asyncio
from contextlib import asynccontextmanager

from services.eventing.runtime import build_service
from services.eventing.settings import ContinuumSettings, service_settings

from .api import router
from .follow_up_scheduler import PrefectFollowUpScheduler
from .handlers import Aftercare
from .notifications import FileNotifier, ReminderNotifier, SmtpSender
from .safety_flags import SafetySweep
from .settings import AftercareSettings
from .tables import AftercareBase


def create_app():
    base = ContinuumSettings()
    http = service_settings("aftercare", base)
    settings = AftercareSettings()
    smtp = (SmtpSender(settings.smtp_host, settings.smtp_port, settings.smtp_sender, settings.smtp_timeout_seconds)
            if settings.smtp_host else None)
    aftercare = Aftercare(
        scheduler=PrefectFollowUpScheduler(f"http://{http.http_host}:{http.http_port}",
                                           idempotency_prefix=base.topic_prefix),
        notifier=ReminderNotifier(FileNotifier(settings.notifications_file or base.data_dir / "notifications.jsonl"),
                                  smtp),
        settings=settings,
    )
    api = build_service("aftercare", routers=[router], handlers=aftercare.handlers(),
                        metadatas=(AftercareBase.metadata,), title="Continuum aftercare")
    api.state.runtime.extras["aftercare"] = aftercare
    sweep = SafetySweep(api.state.runtime.unit_of_work, settings, aftercare.clock)
    api.state.runtime.extras["safety_sweep"] = sweep
    _run_beside(api, sweep)
    return api


def _run_beside(api, sweep: SafetySweep) -> None:
    """Start the sweep once the service is up (its tables exist) and stop it first."""
    service_lifespan = api.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app):
        async with service_lifespan(app) as state:
            task = asyncio.create_task(sweep.run(), name="safety-sweep")
            try:
                yield state
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

    api.router.lifespan_context = lifespan
