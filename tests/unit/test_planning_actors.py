"""Who acts in planning is the caller's token (issue 14), through planning's routes on its app
(a real SQLite store; no Kafka: the lifespan is not run). No body names a reviser or signer
(422 naming the field); the clinician signs as themselves; a clinician's token never signs as
the participant, but records a signature on paper it witnessed as exactly that; the participant
signs their own plan only, in their own session; the events name the token's subject and role.

Who calls is said by the test (tests/support/app_with_people.py): the verification of real tokens
is services/security's."""

import json
from datetime import UTC, datetime
from datetime import time as dtime

import pytest
from sqlalchemy import select

from services.contracts.codes import AssessmentKind, Finding, LevelOfCare, Weekday
from services.contracts.envelope import EventContext, parse_envelope, wrap
from services.contracts.events_intake import AssessmentCompleted, AvailabilityWindow, InstrumentScore
from services.eventing.consumer import HandlerContext
from services.eventing.database import OutboxMessage
from services.eventing.outbox import Outbox
from services.planning import handlers
from services.security.principal import Principal
from tests.support.app_with_people import app_with_people, as_

TENANT, PROGRAM = "demo-network", "adult-mh"
PEOPLE = {
    "clin": Principal("kc-clin-7", ("clinician",), TENANT, (PROGRAM,)),
    "ada": Principal("kc-ada", ("participant",), TENANT, (PROGRAM,), participant_id="p-ada"),
    "bo": Principal("kc-bo", ("participant",), TENANT, (PROGRAM,), participant_id="p-bo"),
}


def _create_app():
    from services.planning.app import create_app
    return create_app()


@pytest.fixture
async def planning(tmp_path, monkeypatch):
    async with app_with_people("planning", _create_app, PEOPLE, tmp_path, monkeypatch) as client:
        yield client


async def a_plan(db, pid: str) -> str:
    event = AssessmentCompleted(
        participant_id=pid, assessment_id=f"asm-{pid}", referral_id=f"ref-{pid}", episode_id=f"ep-{pid}",
        kind=AssessmentKind.INITIAL, completed_at=datetime(2026, 11, 2, 18, tzinfo=UTC),
        scores=(InstrumentScore(instrument="phq9", total=16, band="x"),), findings=(Finding.DEPRESSIVE_SYMPTOMS,),
        goal_ids=("goal-1",), availability=(AvailabilityWindow(day=Weekday.MON, start=dtime(17), end=dtime(21)),),
        recommended_level_of_care=LevelOfCare.INTENSIVE_OUTPATIENT, admitted_to_iop=True)
    async with db.transaction() as s:
        cause = wrap(event, EventContext.new(TENANT, PROGRAM))
        await handlers.on_assessment_completed(HandlerContext(s, Outbox(s, "planning"), cause), event)
    async with db.sessions() as s:
        return (await s.scalar(select(handlers.CarePlanState).where(handlers.CarePlanState.participant_id == pid))
                ).plan_id


async def published(db, name: str) -> list[dict]:
    async with db.sessions() as s:
        rows = (await s.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()
    return [parse_envelope(r.value).data for r in rows if r.event_type == f"continuum.planning.{name}.v1"]


@pytest.mark.parametrize(("path", "body", "field"), [
    ("revisions", {"base_version": 1, "reason_code": "x", "expected_weeks": 9, "revised_by": {"staff_id": "s"}},
     "revised_by"),
    ("versions/1/signatures", {"role": "participant", "signer_id": "p-ada"}, "signer_id"),
    ("reviews", {"requested_by": {"staff_id": "s"}}, "requested_by"),
])
async def test_a_body_naming_who_acts_is_422_naming_the_field(planning, path, body, field):
    plan_id = await a_plan(planning.db, "p-ada")
    r = await planning.post(f"/plans/{plan_id}/{path}", json=body, headers=as_("clin"))
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", field]


async def test_the_reviser_is_the_token(planning):
    plan_id = await a_plan(planning.db, "p-ada")
    r = await planning.post(f"/plans/{plan_id}/revisions", json={"base_version": 1, "reason_code": "x",
                                                                 "expected_weeks": 9}, headers=as_("clin"))
    assert r.status_code == 201 and r.json()["revised_by"] == {"id": "kc-clin-7", "role": "clinician"}
    [revised] = await published(planning.db, "plan_revised")
    assert revised["revised_by"] == "kc-clin-7" and revised["actor"] == {"id": "kc-clin-7", "role": "clinician"}


async def test_a_clinicians_token_never_signs_as_the_participant(planning):
    plan_id = await a_plan(planning.db, "p-ada")
    base = f"/plans/{plan_id}/versions/1/signatures"
    r = await planning.post(base, json={"role": "participant"}, headers=as_("clin"))
    assert r.status_code == 403 and "own session" in r.json()["detail"]
    r = await planning.post(f"/me/plans/{plan_id}/versions/1/signature", headers=as_("clin"))
    assert r.status_code == 403, "plan.sign_own is the participant's alone"
    assert await published(planning.db, "plan_signed") == []


async def test_the_participant_signs_their_own_plan_only_in_their_own_session(planning):
    ada, bo = await a_plan(planning.db, "p-ada"), await a_plan(planning.db, "p-bo")
    assert (await planning.post(f"/me/plans/{bo}/versions/1/signature", headers=as_("ada"))).status_code == 404
    assert (await planning.post(f"/plans/{ada}/versions/1/signatures", json={"role": "participant"},
                                headers=as_("ada"))).status_code == 403, "plan.write is not a participant's"
    assert (await planning.get("/participants/p-ada/plan", headers=as_("ada"))).status_code == 403
    r = await planning.post(f"/me/plans/{ada}/versions/1/signature", headers=as_("ada"))
    assert r.status_code == 201 and r.json()["signed_by_participant"] and not r.json()["signed_by_clinician"]
    [signed] = await published(planning.db, "plan_signed")
    assert signed["signature"] == {"role": "participant", "signer_id": "p-ada", "signed_at": signed["signature"][
        "signed_at"], "kind": "own_session", "actor": {"id": "kc-ada", "role": "participant"}, "attested_by": None}
    mine = (await planning.get("/me/plan", headers=as_("ada"))).json()
    assert mine["plan"]["plan_id"] == ada and mine["plan"]["signed_by_participant"]
    assert (await planning.get("/me/plan", headers=as_("bo"))).json()["plan"]["plan_id"] == bo


async def test_a_witnessed_paper_signature_counts_and_is_published_as_what_it_is(planning):
    plan_id = await a_plan(planning.db, "p-ada")
    base = f"/plans/{plan_id}/versions/1/signatures"
    r = await planning.post(base, json={"role": "participant", "kind": "witnessed_paper_signature"},
                            headers=as_("clin"))
    assert r.status_code == 201 and r.json()["signed_by_participant"]
    r = await planning.post(base, json={"role": "clinician"}, headers=as_("clin"))
    assert r.json() == {"plan_id": plan_id, "version": 1, "signed_by_clinician": True, "signed_by_participant": True}
    paper, own = [s["signature"] for s in await published(planning.db, "plan_signed")]
    clinician = {"id": "kc-clin-7", "role": "clinician"}
    assert (paper["role"], paper["signer_id"], paper["kind"]) == ("participant", "p-ada", "witnessed_paper_signature")
    assert paper["attested_by"] == paper["actor"] == clinician
    assert (own["role"], own["signer_id"], own["kind"], own["actor"]) == ("clinician", "kc-clin-7", "own_session",
                                                                          clinician)
    shown = (await planning.get("/participants/p-ada/plan", headers=as_("clin"))).json()["signatures"]
    assert {(x["role"], x["kind"], x["recorded_by"]["id"]) for x in shown} == {
        ("participant", "witnessed_paper_signature", "kc-clin-7"), ("clinician", "own_session", "kc-clin-7")}


async def test_a_review_request_names_the_token_in_the_event(planning):
    plan_id = await a_plan(planning.db, "p-ada")
    r = await planning.post(f"/plans/{plan_id}/reviews", headers={"Idempotency-Key": "rev-1", **as_("clin")})
    again = await planning.post(f"/plans/{plan_id}/reviews", headers={"Idempotency-Key": "rev-1", **as_("clin")})
    assert r.status_code == again.status_code == 201 and r.json() == again.json()
    reviews = [e for e in await published(planning.db, "progress_reviewed") if e["trigger"] == "requested"]
    assert len(reviews) == 1 and reviews[0]["requested_by"] == {"id": "kc-clin-7", "role": "clinician"}
    assert json.dumps(reviews[0]).count("kc-clin-7") == 1
