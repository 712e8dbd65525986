"""Planning's API on the running service (real Kafka, real SQLite): edits make new versions and
PlanRevised, stale or out-of-bounds edits are refused with the reason, sign-off by clinician and
participant, goals met and review requests produce ProgressReviewed. (Rescheduling on
PlanRevised is scheduling's part.)"""


import pytest

from deploy import api_client as api
from deploy.demo_cohort import assessment, referral
from services.contracts.topics import events_topic
from tests.support.waiting import poll

pytestmark = pytest.mark.integration

EDIT = [
    {"modality": "group_process", "sessions_per_week": 2, "minutes": 180, "discipline": "clinician"},
    {"modality": "individual_counselling", "sessions_per_week": 1, "minutes": 60, "discipline": "clinician"},
    {"modality": "mindfulness", "sessions_per_week": 1, "minutes": 60, "discipline": "clinician"},
    {"modality": "psychoeducation", "sessions_per_week": 1, "minutes": 90, "discipline": "clinician"},
    {"modality": "art_therapy", "sessions_per_week": 1, "minutes": 90, "discipline": "creative_therapist"},
]




def test_api_edits_sign_off_and_reviews(stack, readers):
    reader = readers(events_topic("planning", stack.config.topic_prefix))
    urls = stack.urls()
    with stack.client(subject="staff-17") as http:  # who acts is the token: its subject names the actor
        pid = api.refer(http, urls, referral(5))["participant_id"]
        assert api.assess(http, urls, pid, assessment(5))["admitted_to_iop"]
        first = poll(lambda: api.plan(http, urls, pid), 60, "a plan")["plan"]
        plan_id, base = first["plan_id"], f"{urls.planning}/plans/{first['plan_id']}"
        assert first["signed_by_clinician"] is False and first["signed_by_participant"] is False
        said = [g["text"] for g in assessment(5)["sections"]["clinical_interview"]["goals"]]
        assert [(g["words"], g["words_status"]) for g in first["goals"]] == [(w, "available") for w in said]

        r = http.post(f"{base}/revisions", json={"base_version": 1, "reason_code": "participant_request",
                                                 "note": "prefers art to DBT",
                                                 "interventions": EDIT})
        assert r.status_code == 201, r.text
        assert r.json()["version"] == 2 and r.json()["weekly_hours_target"] == 11
        me = r.json()["revised_by"]  # the token's subject and the role that allowed the revision
        assert me["role"] == "clinician"

        # an edit to the superseded version is refused, with the reason
        r = http.post(f"{base}/revisions", json={"base_version": 1, "reason_code": "x",
                                                 "expected_weeks": 12})
        assert r.status_code == 409 and "superseded by version 2" in r.json()["detail"]
        # a plan outside the level's bounds is refused, with the reason
        r = http.post(f"{base}/revisions", json={"base_version": 2, "reason_code": "x",
                                                 "interventions": EDIT[:2]})
        assert r.status_code == 422
        assert "weekly hours 7 below the level's minimum 9" in r.json()["detail"]["reasons"]
        r = http.post(f"{base}/revisions", json={"base_version": 2, "reason_code": "x",
                                                 "interventions": EDIT * 2})
        assert r.status_code == 422 and "above the level's maximum 19" in r.text

        # sign-off: the current version only, by the caller; a clinician's token never signs as the
        # participant, but records a paper signature it witnessed as exactly that
        assert http.post(f"{base}/versions/1/signatures", json={"role": "clinician"}).status_code == 409
        r = http.post(f"{base}/versions/2/signatures", json={"role": "clinician"})
        assert r.status_code == 201 and r.json()["signed_by_clinician"] and not r.json()["signed_by_participant"]
        assert http.post(f"{base}/versions/2/signatures", json={"role": "participant", "signer_id": pid}
                         ).status_code == 422, "no signer in a body"
        assert http.post(f"{base}/versions/2/signatures", json={"role": "participant"}).status_code == 403
        r = http.post(f"{base}/versions/2/signatures",
                      json={"role": "participant", "kind": "witnessed_paper_signature"})
        assert r.json() == {"plan_id": plan_id, "version": 2, "signed_by_clinician": True,
                            "signed_by_participant": True}

        # a clinician's review request and a goal met: each a review
        r = http.post(f"{base}/reviews", json={})
        assert r.status_code == 201 and r.json()["decision"] == "continue"
        assert "awaiting_reassessment" in r.json()["reason_codes"]
        goal = first["goals"][0]["goal_id"]
        r = http.post(f"{base}/goals/{goal}/met", json={})
        assert r.status_code == 200 and r.json()["review"]["decision"] == "continue"
        assert http.post(f"{base}/goals/goal-nope/met", json={}).status_code == 404
        assert http.post(f"{urls.planning}/plans/plan-nope/reviews", json={}
                         ).status_code == 404

        now = api.plan(http, urls, pid)
        assert [h["version"] for h in now["history"]] == [1, 2]
        assert now["history"][1]["reason_code"] == "participant_request"
        assert now["plan"]["signed_by_participant"] and {s["role"] for s in now["signatures"]} == {
            "clinician", "participant"}
        assert now["progress"]["goals_met"] == [goal]
        assert [x["trigger"] for x in now["reviews"]] == ["requested", "goal_met"]

    reader.wait_for(lambda rs: len(reader.events(pid, "progress_reviewed.v1")) == 2, 30, "two reviews")
    [revised] = reader.events(pid, "plan_revised.v1")
    data = revised["data"]
    assert (data["plan_id"], data["plan_version"], data["previous_version"]) == (plan_id, 2, 1)
    assert data["reason_code"] == "participant_request" and data["revised_by"] == me["id"]
    assert data["actor"] == me
    assert data["signed_by_clinician"] is False, "a revision is signed again"
    assert "prefers art" not in revised["data"].__repr__(), "the note stays in planning"
    assert {i["modality"] for i in data["interventions"]} == {e["modality"] for e in EDIT}
    words = ("words", "words_status")  # the API shows the participant's words; the events never do
    assert data["goals"] == [{k: v for k, v in g.items() if k not in words} for g in first["goals"]]
    assert data["availability"] == first["availability"]
    signed = reader.events(pid, "plan_signed.v1")
    assert [(e["data"]["plan_version"], e["data"]["signature"]["role"]) for e in signed] == [
        (2, "clinician"), (2, "participant")]
    paper = signed[-1]["data"]["signature"]
    assert (paper["kind"], paper["signer_id"], paper["attested_by"]) == ("witnessed_paper_signature", pid, me)
    assert signed[-1]["data"]["signed_by_clinician"] and signed[-1]["data"]["signed_by_participant"]
    assert [e["data"]["trigger"] for e in reader.events(pid, "progress_reviewed.v1")] == ["requested", "goal_met"]
