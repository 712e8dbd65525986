"""The audit trail of one participant's journey — referral, assessment, plan, sessions,
attendance, aftercare — in each service's own database: a row per read and write with who,
what, when, why and the outcome, queried by participant and by user; ids and codes only; the
database refuses to change or delete a row."""

import json
import re
import sqlite3

import pytest

from deploy.demo_cohort import GIVEN, assessment, referral

from .trust_support import take_through_care

pytestmark = pytest.mark.e2e

SUBJECT = "staff-audit-5"
SERVICES = ("intake", "planning", "scheduling", "aftercare", "operations")
CODE = re.compile(r"^[\w.:/{}-]*$")  # ids, codes, route templates: no spaces, no sentences


@pytest.fixture(scope="module")
def journey(stack):
    return take_through_care(stack, 5, subject=SUBJECT)


def sub(stack, username: str) -> str:
    """The person's id in the trail: Keycloak's id of the user (the token's ``sub``)."""
    return stack.identity.user_id(username)


def trail(stack, service: str, **query) -> list[dict]:
    with stack.client("privacy_officer", subject="privacy-1") as http:
        r = http.get(f"{stack.url(service)}/audit", params=query)
    assert r.status_code == 200, r.text
    return r.json()["entries"]


def test_every_step_of_the_journey_is_in_the_trail_by_participant_and_by_user(stack, journey):
    pid = journey.participant_id
    with stack.client(subject=SUBJECT, headers={"X-Purpose-Of-Use": "care_coordination"}) as http:
        assert http.get(f"{stack.url('aftercare')}/participants/{pid}/aftercare").status_code == 200
        r = http.get(f"{stack.url('aftercare')}/participants/{pid}/aftercare",
                     headers={"X-Purpose-Of-Use": "curiosity"})
        assert r.status_code == 422 and "X-Purpose-Of-Use" in r.text

    wanted = {
        "intake": {"referral.create", "assessment.open", "section.clinical_interview.record",
                   "section.clinical_interview.sign", "section.psychosocial.sign", "instrument.phq9.score",
                   "instrument.cssrs_screener.score", "assessment.complete"},
        "planning": {"plan.read"},
        "scheduling": {"sessions.read", "attendance.record"},
        "aftercare": {"aftercare.read"},
    }
    for service, actions in wanted.items():
        rows = trail(stack, service, participant_id=pid)
        assert actions <= {e["action"] for e in rows}, (service, sorted({e["action"] for e in rows}))
        mine = [e for e in rows if e["subject"] == sub(stack, SUBJECT)]
        # reads while waiting for the plan, the sessions, aftercare: not found yet, then found
        assert {e["outcome"] for e in mine} <= {"success", "not_found"}, service
        assert all(e["program_id"] == "adult-mh" for e in mine if e["outcome"] == "success"), service
        assert {e["role"] for e in mine} <= {"clinician", "psychiatrist", "case_manager", "scheduler",
                                             "care_coordinator"}
        by_user = trail(stack, service, subject=sub(stack, SUBJECT))
        assert {e["participant_id"] for e in by_user} == {pid}, "this user touched this participant only"
        assert by_user == mine, "by user and by participant agree"

    intake = trail(stack, "intake", participant_id=pid)
    assert [e["action"] for e in intake if e["subject"] == sub(stack, SUBJECT)].count("assessment.complete") == 2, \
        "the initial assessment and the re-assessment"
    assert next(e for e in intake if e["action"] == "referral.create")["resource"] == f"participant:{pid}"
    attendance = [e for e in trail(stack, "scheduling", participant_id=pid) if e["action"] == "attendance.record"]
    assert len(attendance) == 3 and all(e["resource"].startswith("session:") for e in attendance)
    purposes = [e["purpose"] for e in trail(stack, "aftercare", participant_id=pid)
                if e["subject"] == sub(stack, SUBJECT) and e["outcome"] == "success"]
    assert purposes[-1] == "care_coordination" and "treatment" in purposes
    assert trail(stack, "operations", participant_id=pid) == [], "operations holds no participant record"


def test_the_trail_holds_ids_and_codes_only(stack, journey):
    rows = [e for s in SERVICES for e in trail(stack, s, participant_id=journey.participant_id)]
    assert len(rows) > 20
    for e in rows:
        assert set(e) == {"at", "subject", "role", "action", "resource", "participant_id", "program_id", "purpose",
                          "outcome", "status_code"}
        for key, value in e.items():
            assert key in ("at", "status_code") or value is None or CODE.match(value), (key, value)
    text = json.dumps(rows)
    person, clinical = referral(5)["participant"], assessment(5)["sections"]["clinical_interview"]
    for narrative in (person["family_name"], person["date_of_birth"], GIVEN[5], clinical["symptoms"],
                      clinical["goals"][0]["text"]):
        assert narrative not in text


def test_a_refused_access_is_recorded_as_such(stack, journey):
    with stack.client("scheduler", subject="sched-audit-1") as http:
        assert http.get(f"{stack.url('intake')}/assessments/{journey.assessment_id}").status_code == 403
        assert http.get(f"{stack.url('intake')}/participants/{journey.participant_id}").status_code == 403
    rows = trail(stack, "intake", subject=sub(stack, "sched-audit-1"))
    assert [(e["action"], e["outcome"], e["status_code"]) for e in rows] == [
        ("assessment.read", "forbidden", 403), ("participant.read", "forbidden", 403)]
    assert rows[1]["participant_id"] == journey.participant_id


def test_only_the_privacy_officer_reads_the_trail(stack, journey):
    with stack.client(subject=SUBJECT) as http:  # the whole care team's roles
        assert http.get(f"{stack.url('intake')}/audit").status_code == 403


@pytest.mark.parametrize("service", SERVICES)
def test_the_database_refuses_to_change_or_delete_a_row(stack, journey, service):
    db = sqlite3.connect(stack.data_dir / f"{service}.db", timeout=30)
    try:
        with db:  # appending is allowed (operations has no participant routes, so may hold none yet)
            db.execute("INSERT INTO audit_trail (at, tenant_id, subject, role, action, resource, purpose, outcome, "
                       "status_code) VALUES (datetime('now'), 't', 'test', 'none', 'test.append', 'test', "
                       "'audit', 'success', 200)")
        before = db.execute("SELECT count(*), max(id) FROM audit_trail").fetchone()
        if service != "operations":
            assert before[0] > 1, service
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute("UPDATE audit_trail SET outcome = 'success', subject = 'someone-else'")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute("DELETE FROM audit_trail")
        db.rollback()
        assert db.execute("SELECT count(*), max(id) FROM audit_trail").fetchone()[0] >= before[0]
    finally:
        db.close()
