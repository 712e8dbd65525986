"""The aftercare follow-up check-in: flow runs scheduled by the aftercare service.

- step ``open``, at the due time: opens the check-in in aftercare, which sends the reminder;
- step ``grace_check``, at the end of the grace window: aftercare records a miss (and opens an
  outreach task) unless the participant answered.

Time is a parameter: the run carries its due time, and tells aftercare the time by its own
clock (``as_of``), so tests schedule runs seconds ahead. Both calls are idempotent, so a run
retried after a crash, or run twice, changes nothing twice. Each call carries a ``workflow``
token for the participant's tenant and program, minted with the deployment's key."""

from datetime import UTC, datetime

import httpx
from prefect import flow, get_run_logger
from prefect.runtime import flow_run

from services.security.local_tokens import bearer, local_authority
from services.security.roles import Role

FLOW_NAME = "aftercare-follow-up"
DEPLOYMENT_NAME = "follow-up-check-in"
DEPLOYMENT_PATH = f"{FLOW_NAME}/{DEPLOYMENT_NAME}"
STEP_OPEN = "open"
STEP_GRACE_CHECK = "grace_check"
_ENDPOINT = {STEP_OPEN: "open", STEP_GRACE_CHECK: "grace-check"}


def workflow_token(tenant_id: str | None, program_id: str | None) -> str:
    return local_authority().issue(subject="workflow:follow-up-check-in", roles=[Role.WORKFLOW],
                                   tenant=tenant_id or "", programs=[program_id] if program_id else [])


def call_aftercare(aftercare_url: str, follow_up_id: str, step: str, as_of: datetime,
                   tenant_id: str | None = None, program_id: str | None = None) -> dict:
    response = httpx.post(f"{aftercare_url}/follow-ups/{follow_up_id}/{_ENDPOINT[step]}",
                          json={"as_of": as_of.isoformat()}, timeout=15,
                          headers=bearer(workflow_token(tenant_id, program_id)))
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
def follow_up_check_in(follow_up_id: str, participant_id: str, aftercare_url: str,
                       step: str = STEP_OPEN, due_at: str | None = None, tenant_id: str | None = None,
                       program_id: str | None = None) -> str:
    if step not in _ENDPOINT:
        raise ValueError(f"unknown step: {step}")
    result = call_aftercare(aftercare_url, follow_up_id, step, run_clock(), tenant_id, program_id)
    get_run_logger().info("check-in %s for %s (%s, due %s): %s", follow_up_id, participant_id, step,
                          due_at, result["status"])
    return result["status"]
