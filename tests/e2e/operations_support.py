"""Helpers of the operations e2e tests: drive a demo cohort, wait for the read model."""

import time

import httpx

from bench.read_probe import ReadProbe
from deploy.api_client import CARE_TEAM, auth_headers
from deploy.demo_cohort import DemoCohort


def drive_demo_cohort(stack, size: int = 10, timeout_s: float = 240) -> tuple[DemoCohort, ReadProbe]:
    """Participants 0..size-1 of the demo cohort through the APIs until each is in aftercare
    or referred out (participant 7 has a safety flag, participant 9 is referred out), with a
    probe reading participants from every service meanwhile (the read latency objective)."""
    cohort = DemoCohort(stack.urls(), size, data_dir=stack.data_dir)
    known = lambda: [p.participant_id for p in cohort.people if p.participant_id]  # noqa: E731
    probe = ReadProbe(stack.urls(), auth_headers(CARE_TEAM, data_dir=stack.data_dir), known)
    try:
        with probe:
            cohort.admit()
            deadline = time.monotonic() + timeout_s
            while not cohort.done():
                assert time.monotonic() < deadline, [(p.index, p.stage) for p in cohort.people]
                cohort.step()
                time.sleep(1)
    finally:
        cohort.close()
    return cohort, probe


def operations_caught_up(stack, http: httpx.Client) -> bool:
    """Every service's outbox is empty and operations has consumed everything."""
    for s in ("intake", "planning", "scheduling", "aftercare", "operations"):
        if http.get(f"{stack.url(s)}/health").json()["outbox_backlog"]:
            return False
    lag = http.get(f"{stack.url('operations')}/api/consumer-lag", headers=stack.auth_headers("operations")).json()
    ops = next(s for s in lag["by_service"] if s["service"] == "operations")
    return lag["available"] and ops["lag"] == 0


def wait_caught_up(stack, http: httpx.Client, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not operations_caught_up(stack, http):
        assert time.monotonic() < deadline, "operations did not catch up"
        time.sleep(1)
