"""A clinician's edit of a plan through planning's API reaches scheduling: PlanRevised, then
the participant's sessions re-placed for the new version inside the new availability."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from deploy import api_client as api
from deploy.demo_cohort import WEEKENDS, assessment, referral
from services.contracts.topics import events_topic
from tests.support.waiting import poll

pytestmark = pytest.mark.e2e

PROGRAM_TZ = ZoneInfo("America/New_York")  # services/scheduling/config/calendar.yaml


def inside(window_days: dict[str, tuple[str, str]], starts_at: str, ends_at: str) -> bool:
    start, end = (datetime.fromisoformat(t).astimezone(PROGRAM_TZ) for t in (starts_at, ends_at))
    day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[start.weekday()]
    return day in window_days and window_days[day][0] <= start.strftime("%H:%M") and \
        end.strftime("%H:%M") <= window_days[day][1]


def test_an_api_edit_revises_the_plan_and_scheduling_re_places_the_sessions(stack, readers):
    prefix = stack.config.topic_prefix
    reader = readers(events_topic("planning", prefix), events_topic("scheduling", prefix))
    urls = stack.urls()
    with stack.client() as http:
        pid = api.refer(http, urls, referral(30))["participant_id"]  # an evenings participant
        assert api.assess(http, urls, pid, assessment(30))["admitted_to_iop"]
        plan = poll(lambda: api.plan(http, urls, pid), 60, "a plan")["plan"]
        poll(lambda: api.sessions(http, urls, pid), 60, "first placement")

        r = http.post(f"{urls.planning}/plans/{plan['plan_id']}/revisions", json={
            "base_version": 1, "reason_code": "participant_request",
            "availability": WEEKENDS})  # a new job: weekends only now
        assert r.status_code == 201, r.text
        assert r.json()["version"] == 2

        reader.wait_for(lambda rs: reader.events(pid, "plan_revised.v1"), 30, "PlanRevised")
        revised = reader.events(pid, "plan_revised.v1")[0]["data"]
        assert revised["plan_version"] == 2 and revised["reason_code"] == "participant_request"

        windows = {w["day"]: (w["start"], w["end"]) for w in WEEKENDS}

        def placed_for_v2(rs) -> bool:
            return any(r.key == pid.encode() and r.topic == events_topic("scheduling", prefix)
                       and r.event["data"].get("plan_version") == 2 for r in rs)

        reader.wait_for(placed_for_v2, 90, "scheduling's answer to plan version 2")
        live = poll(lambda: [s for s in api.sessions(http, urls, pid)["sessions"] if s["status"] == "scheduled"],
                    30, "live sessions")
        assert all(inside(windows, s["starts_at"], s["ends_at"]) for s in live), live
        assert any(s["plan_version"] == 2 for s in live)
