"""The safety loop end to end, on the whole stack (a 'day' is 2 s, so a high flag's one-hour
window is 0.08 s and each escalation window a few hundredths of a second; the sweep runs every
second): an answer with PHQ-9 item 9 = 2 to a follow-up cancelled by a readmission is stored
and flagged, nobody responds so the flag escalates on-call -> supervisor -> director and shows
overdue, first, on the dashboard; a clinician (the token's subject) acknowledges and resolves
it, and the dashboard shows the time to answer. A flag raised at intake is answered at intake."""

import pytest

from deploy import api_client as api
from deploy.demo_cohort import assessment, referral
from services.contracts.topics import events_topic
from tests.e2e.test_care_path import admit, attend_until_step_down
from tests.support.waiting import poll

pytestmark = pytest.mark.e2e

INDEX = 16
STABLE = {"phq9_total": 3, "phq9_item9": 0, "substance_use_since_last_contact": False,
          "engaged_with_step_down_provider": True, "housing_stable": True, "work_or_school_stable": True}
WORDS = "I keep thinking everyone would be better off"
LADDER = [(1, "on_call_clinician"), (2, "clinical_supervisor"), (3, "program_director")]


def dashboard_flag(stack, flag_id: str, predicate) -> tuple[dict, dict]:
    with stack.client("operations") as ops:
        def seen():
            s = ops.get(f"{stack.url('operations')}/api/figures").json()["safety_flags"]
            flag = next((f for f in s["flags"] if f["flag_id"] == flag_id), None)
            return (s, flag) if predicate(s, flag) else None
        return poll(seen, 30, f"flag {flag_id} on the dashboard")


def test_an_answer_to_a_cancelled_follow_up_is_flagged_escalated_shown_overdue_and_resolved(stack, readers):
    prefix = stack.config.topic_prefix
    reader = readers(events_topic("aftercare", prefix), events_topic("intake", prefix))
    aftercare_url = stack.url("aftercare")
    with stack.client() as http:
        pid = admit(stack, http, INDEX)
        fus = attend_until_step_down(stack, http, pid, INDEX)["follow_ups"]
        # a relapse at day 7, a re-referral, a readmission: the remaining follow-ups are cancelled
        api.check_in(http, stack.urls(), fus[0]["follow_up_id"], {**STABLE, "substance_use_since_last_contact": True})
        reader.wait_for(lambda rs: len(reader.events(pid, "referral_received.v1")) == 2, 30, "a re-referral")
        assert api.assess(http, stack.urls(), pid, assessment(INDEX))["admitted_to_iop"]
        reader.wait_for(lambda rs: len(reader.events(pid, "follow_up_cancelled.v1")) == 3, 60, "3 cancellations")
        d30 = fus[1]["follow_up_id"]
        assert api.aftercare(http, stack.urls(), pid)["follow_ups"][1]["status"] == "cancelled"

        # the participant answers the cancelled day-30 check-in anyway, with item 9 = 2: kept and flagged
        r = http.post(f"{aftercare_url}/follow-ups/{d30}/check-in",
                      json={**STABLE, "phq9_item9": 2, "phq9_total": 12, "how_they_say_they_are": WORDS})
        assert r.status_code == 200, r.text
        answer = r.json()
        assert answer["additional_answer"] and answer["status"] == "cancelled"
        record = api.aftercare(http, stack.urls(), pid)
        kept = [a for a in record["additional_answers"] if a["follow_up_id"] == d30]
        assert len(kept) == 1 and kept[0]["answers"]["phq9_item9"] == 2 and kept[0]["how_they_say_they_are"] == WORDS
        assert kept[0]["safety_flag_id"] == answer["safety_flag"]["flag_id"] == record["safety_flags"][0]["flag_id"]
        flag = answer["safety_flag"]
        assert (flag["severity"], flag["follow_up_status"], flag["disposition"]) == (
            "high", "cancelled", "same_day_suicide_risk_assessment")
        flag_id = flag["flag_id"]
        reader.wait_for(lambda rs: reader.events(pid, "aftercare.safety_risk_flagged.v1"), 30, "SafetyRiskFlagged")
        raised = reader.events(pid, "aftercare.safety_risk_flagged.v1")[0]["data"]
        assert (raised["flag_id"], raised["severity"], raised["source"], raised["phq9_item9"]) == (
            flag_id, "high", "aftercare_check_in", 2)
        assert raised["respond_by"] > raised["flagged_at"]

        # nobody responds: the sweep escalates it up the whole ladder
        reader.wait_for(lambda rs: len(reader.events(pid, "safety_flag_escalated.v1")) == 3, 30, "3 escalations")
        escalations = [e["data"] for e in reader.events(pid, "safety_flag_escalated.v1")]
        assert [(e["escalation_level"], e["escalated_to"]) for e in escalations] == LADDER
        assert all(e["flag_id"] == flag_id for e in escalations)
        listed = http.get(f"{aftercare_url}/safety-flags").json()
        mine = next(f for f in listed if f["flag_id"] == flag_id)
        assert mine["overdue"] and mine["escalation_level"] == 3 and mine["escalated_to"] == "program_director"
        assert [f["overdue"] for f in listed] == sorted((f["overdue"] for f in listed), reverse=True)

        # the dashboard: the flag is overdue, escalated, and overdue flags come first
        s, on_board = dashboard_flag(stack, flag_id, lambda s, f: f and f["escalation_level"] == 3)
        assert on_board["overdue"] and on_board["escalated_to"] == "program_director"
        assert on_board["source"] == "aftercare_check_in"
        assert [f["overdue"] for f in s["flags"]] == sorted((f["overdue"] for f in s["flags"]), reverse=True)

    # the closed loop: a clinician acknowledges and resolves it; the actor is the token's subject
    with stack.client(subject="staff-clin-42") as clinician:
        me = stack.identity.user_id("staff-clin-42")  # who acts: Keycloak's id of the signed-in user
        base = f"{aftercare_url}/safety-flags/{flag_id}"
        bad = clinician.post(f"{base}/resolution", json={"action_taken": "crisis_evaluation", "resolved_by": "x"})
        assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "resolved_by"]
        bad = clinician.post(f"{base}/resolution", json={"action_taken": "thoughts_and_prayers"})
        assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "action_taken"]
        acked = clinician.post(f"{base}/acknowledgement").json()
        assert acked["status"] == "acknowledged" and acked["acknowledged_by"] == me
        done = clinician.post(f"{base}/resolution", json={"action_taken": "crisis_evaluation"}).json()
        assert (done["status"], done["resolved_by"], done["action_taken"]) == (
            "resolved", me, "crisis_evaluation")
        again = clinician.post(f"{base}/resolution", json={"action_taken": "emergency_referral"})
        assert again.status_code == 409 and "action_taken" in again.json()["detail"]
    with stack.client("care_coordinator") as coordinator:
        assert coordinator.post(f"{aftercare_url}/safety-flags/{flag_id}/acknowledgement").status_code == 403
    with stack.client(tenant="other-network") as outsider:   # outside the scope: exactly as if it did not exist
        for path in (f"/safety-flags/{flag_id}", f"/safety-flags/{flag_id}/acknowledgement"):
            method = outsider.get if path.endswith(flag_id) else outsider.post
            r, absent = method(aftercare_url + path), method(aftercare_url + path.replace(flag_id, "sflag-none"))
            assert r.status_code == absent.status_code == 404
            assert r.json()["detail"] == absent.json()["detail"].replace("sflag-none", flag_id)
        assert all(f["flag_id"] != flag_id for f in outsider.get(f"{aftercare_url}/safety-flags").json())
    reader.wait_for(lambda rs: reader.events(pid, "safety_flag_resolved.v1"), 30, "SafetyFlagResolved")
    assert reader.events(pid, "safety_flag_acknowledged.v1")[0]["data"]["acknowledged_by"] == me
    resolved = reader.events(pid, "safety_flag_resolved.v1")
    assert len(resolved) == 1 and resolved[0]["data"]["action_taken"] == "crisis_evaluation"

    s, _ = dashboard_flag(stack, flag_id, lambda s, f: f is None and "high" in s["time_to_resolve"])
    assert s["time_to_acknowledge"]["high"]["flags"] >= 1 and s["resolved"] >= 1

    # the participant's words stayed in aftercare
    for r in reader.records:
        if r.key == pid.encode():
            assert WORDS not in r.value.decode()
    assert WORDS not in (stack.data_dir / "logs" / "aftercare.log").read_text()


def test_a_flag_raised_at_intake_is_answered_at_intake_and_closes_planning_s_copy(stack, readers):
    """Participant 7's assessment is high risk (C-SSRS intent, PHQ-9 item 9): two flags, owned by
    intake; a psychiatrist acknowledges one and resolves both; the dashboard shows them answered."""
    prefix = stack.config.topic_prefix
    reader = readers(events_topic("intake", prefix))
    intake_url = stack.url("intake")
    with stack.client() as http:
        pid = api.refer(http, stack.urls(), referral(7))["participant_id"]
        outcome = api.assess(http, stack.urls(), pid, assessment(7))
        assert outcome["recommended_level_of_care"] == "4" and not outcome["admitted_to_iop"]
        listed = [f for f in http.get(f"{intake_url}/safety-flags").json() if f["participant_id"] == pid]
        assert {f["severity"] for f in listed} == {"high"} and len(listed) == 2
        assert {f["disposition"] for f in listed} == {"same_day_suicide_risk_assessment",
                                                      "same_day_evaluation_for_hospitalisation"}
    with stack.client(subject="staff-psy-9") as psychiatrist:
        me = stack.identity.user_id("staff-psy-9")
        first, second = (f["flag_id"] for f in listed)
        acked = psychiatrist.post(f"{intake_url}/safety-flags/{first}/acknowledgement").json()
        assert acked["acknowledged_by"] == me and acked["status"] == "acknowledged"
        for flag_id, action in ((first, "same_day_evaluation"), (second, "emergency_referral")):
            done = psychiatrist.post(f"{intake_url}/safety-flags/{flag_id}/resolution",
                                     json={"action_taken": action}).json()
            assert (done["status"], done["resolved_by"], done["action_taken"]) == ("resolved", me, action)
    with stack.client("scheduler") as scheduler:
        assert scheduler.get(f"{intake_url}/safety-flags").status_code == 403
    reader.wait_for(lambda rs: len(reader.events(pid, "intake.safety_flag_resolved.v1")) == 2, 30, "2 resolutions")
    assert len(reader.events(pid, "intake.safety_flag_acknowledged.v1")) == 2, "resolving acknowledges too"
    for flag_id in (first, second):
        s, _ = dashboard_flag(stack, flag_id, lambda s, f: f is None)
    assert s["time_to_resolve"]["high"]["flags"] >= 2
