"""Real resources for the schemathesis run to aim at: without them every generated id is
unknown and the fuzzer meets only 404s. Two participants of their own tenant, driven through
the APIs: one in treatment (a plan, placed sessions, an open re-assessment) and one in
aftercare (follow-ups scheduled). Returns, per service, the ids each path parameter can take.

Clinicians and groups are left to the generated ids on purpose: an absence or a cancelled
meeting the fuzzer records for a real clinician or group would take hours from the other
tests' participants (the program calendar is put back afterwards, absences cannot be)."""

import httpx

from deploy import api_client as api
from deploy.demo_cohort import IMPROVED_PHQ9, assessment, reassessment, referral
from tests.support.api_auth import FUZZ_TENANT, auth_headers
from tests.support.waiting import poll

TENANT = FUZZ_TENANT
IN_TREATMENT, IN_AFTERCARE = 21, 22  # demo-cohort profiles with no safety finding, admitted to the IOP


def _admitted(http: httpx.Client, urls, index: int) -> str:
    pid = api.refer(http, urls, referral(index, tenant=TENANT))["participant_id"]
    assert api.assess(http, urls, pid, assessment(index))["admitted_to_iop"]
    return pid


def _sessions(http: httpx.Client, urls, pid: str) -> list[dict]:
    return poll(lambda: api.sessions(http, urls, pid), 90, f"sessions placed for {pid}")["sessions"]


def known_ids(stack) -> dict[str, dict[str, list]]:
    urls = stack.urls()
    with httpx.Client(timeout=30, headers=auth_headers(stack, "intake")) as http:
        treated, stepped_down = _admitted(http, urls, IN_TREATMENT), _admitted(http, urls, IN_AFTERCARE)
        for s in _sessions(http, urls, stepped_down)[:3]:
            api.attend(http, urls, s["session_id"])
        api.assess(http, urls, stepped_down, reassessment(IN_AFTERCARE, phq9=IMPROVED_PHQ9))
        follow_ups = poll(lambda: (a := api.aftercare(http, urls, stepped_down)) and a["follow_ups"],
                          90, "follow-ups scheduled")
        sessions = _sessions(http, urls, treated)
        plan = poll(lambda: api.plan(http, urls, treated), 60, "the plan")["plan"]
        reopened = http.post(f"{urls.intake}/participants/{treated}/assessments", json={"kind": "reassessment"})
        reopened.raise_for_status()
    return {
        "intake": {"participant_id": [treated], "assessment_id": [reopened.json()["assessment_id"]]},
        "planning": {"participant_id": [treated], "plan_id": [plan["plan_id"]], "version": [plan["plan_version"]],
                     "goal_id": [g["goal_id"] for g in plan["goals"]]},
        "scheduling": {"participant_id": [treated], "session_id": [s["session_id"] for s in sessions[:4]]},
        "aftercare": {"participant_id": [stepped_down], "follow_up_id": [f["follow_up_id"] for f in follow_ups]},
        "operations": {},
    }
