"""The aftercare follow-up check-in: flow runs scheduled by the aftercare service.

- step ``open``, at the due time: opens the check-in in aftercare, which sends the reminder;
- step ``grace_check``, at the end of the grace window: aftercare records a miss (and opens an
  outreach task) unless the participant answered.

Time is a parameter: the run carries its due time, and tells aftercare the time by its own
clock (``as_of``), so tests schedule runs seconds ahead. Both calls are idempotent, so a run
retried after a crash, or run twice, changes nothing twice.

Where a run calls is not a parameter: the aftercare address is the flow server's own setting
(``CONTINUUM_WORKFLOW_AFTERCARE_URL``). Each call carries the flow server's access token (client
credentials of ``continuum-workflow``: role ``workflow``, no tenant) and names in its body the
tenant the run acts for; aftercare checks the follow-up belongs to it."""

from datetime import UTC, datetime

import httpx
from prefect import flow, get_run_logger
from prefect.runtime import flow_run

from services.security.client_credentials import ClientCredentials
from services.security.headers import bearer
from services.security.settings import AuthSettings

from .settings import WorkflowSettings

FLOW_NAME = "aftercare-follow-up"
DEPLOYMENT_NAME = "follow-up-check-in"
DEPLOYMENT_PATH = f"{FLOW_NAME}/{DEPLOYMENT_NAME}"
STEP_OPEN = "open"
STEP_GRACE_CHECK = "grace_check"
_ENDPOINT = {STEP_OPEN: "open", STEP_GRACE_CHECK: "grace-check"}

_identity: tuple[WorkflowSettings, ClientCredentials] | None = None


def identity() -> tuple[WorkflowSettings, ClientCredentials]:
    """The flow server's settings and token client, made once per process (each flow run is a
    process of its own: the token is fetched once per run, and reused by its retries)."""
    global _identity
    if _identity is None:
        settings, issuer = WorkflowSettings(), AuthSettings().issuer
        if refusals := settings.refusals() + ([] if issuer else ["no issuer: set CONTINUUM_AUTH_ISSUER"]):
            raise RuntimeError("; ".join(refusals))
        assert issuer is not None  # refused above otherwise
        _identity = settings, ClientCredentials(issuer, settings.client_id, settings.secret)
    return _identity


def call_aftercare(follow_up_id: str, step: str, as_of: datetime, tenant_id: str | None) -> dict:
    settings, credentials = identity()
    url = f"{settings.aftercare_url}/follow-ups/{follow_up_id}/{_ENDPOINT[step]}"
    body = {"as_of": as_of.isoformat(), "tenant_id": tenant_id}
    for attempt in (1, 2):
        response = httpx.post(url, json=body, timeout=settings.call_timeout_seconds,
                              headers=bearer(credentials.token()))
        if response.status_code == 401 and attempt == 1:
            credentials.forget()  # refused (revoked, keys rotated): once more with a new token
            continue
        break
    response.raise_for_status()
    return response.json()


def run_clock() -> datetime:
    """Now, but never before this run's scheduled time: Prefect may start a scheduled run a
    fraction of a second early, and a grace check a moment early would find nothing missed."""
    now = datetime.now(UTC)
    scheduled = flow_run.scheduled_start_time
    if scheduled is None:
        return now
    return max(now, scheduled.astimezone(UTC))


# a list of delays is refused by the Prefect 3.9 server for flows (422 on retry_delay): one delay
@flow(name=FLOW_NAME, retries=3, retry_delay_seconds=20, log_prints=False)
def follow_up_check_in(follow_up_id: str, participant_id: str, step: str = STEP_OPEN, due_at: str | None = None,
                       tenant_id: str | None = None, program_id: str | None = None,
                       aftercare_url: str | None = None) -> str:
    """``aftercare_url`` is ignored (runs scheduled before it was removed still pass it): the
    flow server calls the aftercare of its own settings."""
    log = get_run_logger()
    if aftercare_url is not None:
        log.warning("check-in %s: ignoring the run's aftercare_url parameter (%r); calling the flow server's "
                    "own aftercare address", follow_up_id, str(aftercare_url)[:200])
    if step not in _ENDPOINT:
        raise ValueError(f"unknown step: {step}")
    result = call_aftercare(follow_up_id, step, run_clock(), tenant_id)
    log.info("check-in %s for %s (%s, due %s, tenant %s): %s", follow_up_id, participant_id, step, due_at,
             tenant_id, result["status"])
    return result["status"]
