"""The aftercare follow-up check-in: a flow run scheduled for its due time by the
aftercare service. When due it opens the check-in in aftercare, which sends the
reminder. Opening is idempotent, so a retried or re-run flow changes nothing twice."""

import httpx
from prefect import flow, get_run_logger

FLOW_NAME = "aftercare-follow-up"
DEPLOYMENT_NAME = "follow-up-check-in"
DEPLOYMENT_PATH = f"{FLOW_NAME}/{DEPLOYMENT_NAME}"


# a list of delays is refused by the Prefect 3.9 server for flows (422 on retry_delay): one delay
@flow(name=FLOW_NAME, retries=3, retry_delay_seconds=20, log_prints=False)
def follow_up_check_in(follow_up_id: str, participant_id: str, aftercare_url: str) -> str:
    response = httpx.post(f"{aftercare_url}/follow-ups/{follow_up_id}/open", timeout=15)
    response.raise_for_status()
    status = response.json()["status"]
    get_run_logger().info("check-in %s for %s is %s", follow_up_id, participant_id, status)
    return status
