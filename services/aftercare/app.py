"""Wires aftercare: routes, handlers with their Prefect and notification adapters, tables, and
the safety sweep (escalates unacknowledged safety flags) running beside the service."""

from services.clinical_safety.recording import run_beside

from services.eventing.runtime import build_service
from services.eventing.settings import ContinuumSettings, service_settings

from .api import router
from .follow_up_scheduler import PrefectFollowUpScheduler
from .handlers import Aftercare
from .notifications import FileNotifier, ReminderNotifier, SmtpSender
from .safety_flags import sweep
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
    safety_sweep = sweep(api.state.runtime.unit_of_work, settings, aftercare.clock)
    api.state.runtime.extras["safety_sweep"] = safety_sweep
    run_beside(api, safety_sweep)
    return api
