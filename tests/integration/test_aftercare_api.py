"""Aftercare's routes on its own SQLite store (no Kafka): who acts is the caller's Access (the
token's subject and role), never a body field; a flow run acts only on a follow-up of the
tenant it claims.

The caller is set by overriding the routes' ``authorized`` dependency with a built Access (as
the token verification would hand it): token issuing is being replaced (HS256 -> the identity
provider) and these tests are about the routes, not about reading tokens."""

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from services.aftercare.api import router, safety_router
from services.aftercare.handlers import Aftercare
from services.aftercare.settings import AftercareSettings
from services.aftercare.tables import AftercareBase, AftercarePlan, FollowUp
from services.eventing.database import Database, OutboxMessage
from services.eventing.settings import ContinuumSettings, KafkaSettings, ServiceSettings
from services.host.runtime import ServiceRuntime
from services.security.dependencies import Access
from services.security.principal import Principal
from services.web.refusals import answer_refusals

pytestmark = pytest.mark.integration

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PLAN = {"triggers": ["payday"], "warning_signs": ["sleeping badly"], "coping_strategies": ["call my sister"],
        "supports": [{"name": "Sam", "relationship": "sponsor"}], "crisis_resources": ["988"]}
WELL = {"phq9_total": 3, "phq9_item9": 0, "substance_use_since_last_contact": False,
        "engaged_with_step_down_provider": True, "housing_stable": True, "work_or_school_stable": True}


def access(subject: str, role: str, tenant: str = "t1", programs=("prog1",), participant_id: str | None = None):
    return Access(Principal(subject, (role,), tenant, tuple(programs), participant_id), role, "test", "treatment")


CASE_MANAGER = access("kc-5f1c-case-manager", "case_manager")
CLINICIAN = access("kc-77aa-clinician", "clinician")
WORKFLOW = access("continuum-workflow-sa", "workflow", tenant="", programs=())  # deployment-wide, no tenant


@dataclass
class Caller:
    access: Access = field(default_factory=lambda: CASE_MANAGER)


@dataclass
class Api:
    http: httpx.AsyncClient
    db: Database
    caller: Caller

    def as_(self, who: Access) -> "Api":
        self.caller.access = who
        return self

    async def events(self, suffix: str) -> list[dict]:
        async with self.db.sessions() as s:
            rows = (await s.scalars(select(OutboxMessage).where(OutboxMessage.event_type.endswith(suffix))
                                    .order_by(OutboxMessage.id))).all()
        return [json.loads(r.value)["data"] for r in rows]

    async def follow_up(self, fid: str) -> FollowUp:
        async with self.db.sessions() as s:
            return await s.get(FollowUp, fid)


def as_caller(app: FastAPI, caller: Caller, *routers) -> None:
    """Every route's ``authorized(...)`` dependency (also within the command layer's) answers
    with the caller's Access."""
    def override(dependant) -> None:
        for dep in dependant.dependencies:
            if getattr(dep.call, "__qualname__", "").startswith("authorized."):
                app.dependency_overrides[dep.call] = lambda: caller.access
            else:
                override(dep)
    for route in (r for rt in routers for r in rt.routes):
        override(route.dependant)


@pytest.fixture
async def api(sqlite_database):
    db = await sqlite_database("aftercare", AftercareBase.metadata)
    rt = ServiceRuntime("aftercare", db, ContinuumSettings(), KafkaSettings(), ServiceSettings(), {})
    rt.extras["aftercare"] = Aftercare(settings=AftercareSettings(), clock=lambda: T0)
    app = FastAPI()
    app.state.runtime = rt
    app.include_router(router)
    app.include_router(safety_router)
    answer_refusals(app)
    caller = Caller()
    as_caller(app, caller, router, safety_router)
    async with db.transaction() as s:
        s.add(AftercarePlan(id="acp-1", participant_id="p-1", episode_id="ep1", tenant_id="t1", program_id="prog1",
                            step_down_level="1", services=["outpatient_therapy"], relapse_prevention_plan_id="rpp-1",
                            relapse_prevention={}, discharged_on=date(2026, 2, 20),
                            discharged_at=T0 - timedelta(days=8)))
        for offset in (7, 30):
            s.add(FollowUp(id=f"fu-ep1-d{offset}", participant_id="p-1", episode_id="ep1", tenant_id="t1",
                           program_id="prog1", day_offset=offset, due_at=T0 - timedelta(days=1), runs="scheduled",
                           flow_run_id="r", status="scheduled"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://aftercare") as http:
        yield Api(http, db, caller)


# -- a flow run acts only on a follow-up of the tenant it claims ----------------------------------


async def test_a_flow_run_of_the_follow_ups_tenant_opens_it(api):
    r = await api.as_(WORKFLOW).http.post("/follow-ups/fu-ep1-d7/open",
                                          json={"tenant_id": "t1", "as_of": T0.isoformat()})
    assert r.status_code == 200 and r.json()["status"] == "open"
    fu = await api.follow_up("fu-ep1-d7")
    assert (fu.status, fu.reminder, fu.opened_at) == ("open", "to_send", T0)


@pytest.mark.parametrize("step", ["open", "grace-check"])
async def test_a_flow_run_claiming_another_tenant_gets_404_and_changes_nothing(api, step, caplog):
    as_of = (T0 + timedelta(days=30)).isoformat()  # past the grace window: a grace check would miss it
    r = await api.as_(WORKFLOW).http.post(f"/follow-ups/fu-ep1-d7/{step}", json={"tenant_id": "t2", "as_of": as_of})
    unknown = await api.http.post(f"/follow-ups/fu-nope/{step}", json={"tenant_id": "t1", "as_of": as_of})
    assert (r.status_code, r.json()) == (404, {"detail": "unknown follow-up: fu-ep1-d7"})
    assert unknown.status_code == 404, "the same answer for a follow-up that does not exist"
    fu = await api.follow_up("fu-ep1-d7")
    assert (fu.status, fu.reminder, fu.opened_at, fu.missed_at) == ("scheduled", None, None, None)
    assert await api.events("follow_up_missed.v1") == []


async def test_a_refused_flow_run_is_logged_with_ids_only(api, capsys):
    await api.as_(WORKFLOW).http.post("/follow-ups/fu-ep1-d7/open", json={"tenant_id": "t2"})
    await api.http.post("/follow-ups/fu-nope/open", json={"tenant_id": "t1"})
    lines = [line for line in capsys.readouterr().out.splitlines() if "follow_up.run_refused" in line]
    assert len(lines) == 2
    assert "other_tenant" in lines[0] and "fu-ep1-d7" in lines[0] and "t2" in lines[0]
    assert "unknown_follow_up" in lines[1]


@pytest.mark.parametrize("tenant, programs", [("t2", ()), ("t1", ("prog2",))])
async def test_a_workflow_token_naming_a_scope_cannot_act_outside_it(api, tenant, programs):
    r = await api.as_(access("wf", "workflow", tenant=tenant, programs=programs)).http.post(
        "/follow-ups/fu-ep1-d7/open", json={"tenant_id": "t1"})
    assert r.status_code == 404
    assert (await api.follow_up("fu-ep1-d7")).status == "scheduled"
    ok = await api.as_(access("wf", "workflow", tenant="t1", programs=("prog1",))).http.post(
        "/follow-ups/fu-ep1-d7/open", json={"tenant_id": "t1"})
    assert ok.status_code == 200


async def test_the_claimed_tenant_is_required(api):
    r = await api.as_(WORKFLOW).http.post("/follow-ups/fu-ep1-d7/open", json={"as_of": T0.isoformat()})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "tenant_id"]
    r = await api.http.post("/follow-ups/fu-ep1-d7/grace-check")
    assert r.status_code == 422


async def test_a_grace_check_records_the_flow_runs_identity_in_the_miss(api):
    as_of = (T0 + timedelta(days=30)).isoformat()
    r = await api.as_(WORKFLOW).http.post("/follow-ups/fu-ep1-d7/grace-check", json={"tenant_id": "t1", "as_of": as_of})
    assert r.status_code == 200 and r.json()["grace_outcome"] == "missed"
    (missed,) = await api.events("follow_up_missed.v1")
    assert missed["actor"] == {"id": "continuum-workflow-sa", "role": "workflow"}


# -- the aftercare plan's confirmation: the participant's own, or witnessed ---------------------


async def write_plan(api):
    r = await api.as_(CASE_MANAGER).http.put("/participants/p-1/aftercare/relapse-prevention-plan", json=PLAN)
    assert r.status_code == 200


async def test_a_staff_members_confirmation_is_recorded_as_witnessed_never_as_the_participants(api):
    await write_plan(api)
    r = await api.as_(CASE_MANAGER).http.post("/participants/p-1/aftercare/confirmation", json={})
    assert r.status_code == 200
    body = r.json()
    assert body["confirmed_by_participant"] is True
    assert (body["confirmation_kind"], body["attested_by"]) == ("witnessed", "kc-5f1c-case-manager")
    assert body["confirmed_by"] == {"id": "kc-5f1c-case-manager", "role": "case_manager"}
    (event,) = await api.events("aftercare_plan_confirmed.v1")
    assert event["confirmation_kind"] == "witnessed" and event["attested_by"] == "kc-5f1c-case-manager"
    assert event["actor"] == {"id": "kc-5f1c-case-manager", "role": "case_manager"}
    again = await api.as_(CLINICIAN).http.post("/participants/p-1/aftercare/confirmation")
    assert again.json()["attested_by"] == "kc-5f1c-case-manager", "confirmed once, as it was"
    assert len(await api.events("aftercare_plan_confirmed.v1")) == 1


async def test_the_participants_own_session_confirms_their_own_plan(api):
    await write_plan(api)
    me = access("kc-9d2e-participant", "participant", programs=(), participant_id="p-1")
    r = await api.as_(me).http.post("/participants/p-1/aftercare/confirmation")
    assert r.status_code == 200
    assert (r.json()["confirmation_kind"], r.json()["attested_by"]) == ("participant", None)
    (event,) = await api.events("aftercare_plan_confirmed.v1")
    assert event["actor"] == {"id": "kc-9d2e-participant", "role": "participant"}
    assert (event["confirmation_kind"], event["attested_by"]) == ("participant", None)


@pytest.mark.parametrize("participant_id, tenant", [("p-2", "t1"), ("p-1", "t2")])
async def test_a_participants_session_reaches_no_one_elses_plan(api, participant_id, tenant):
    await write_plan(api)
    other = access("kc-other-participant", "participant", tenant=tenant, programs=("prog1",),
                   participant_id=participant_id)
    r = await api.as_(other).http.post("/participants/p-1/aftercare/confirmation")
    assert (r.status_code, r.json()) == (404, {"detail": "no aftercare for participant: p-1"})
    assert await api.events("aftercare_plan_confirmed.v1") == []


@pytest.mark.parametrize("field_name, value", [("confirmed_by_participant", True), ("reviewed_with", "staff-17"),
                                               ("attested_by", "staff-17")])
async def test_a_body_naming_an_actor_is_refused_naming_the_field(api, field_name, value):
    await write_plan(api)
    r = await api.as_(CASE_MANAGER).http.post("/participants/p-1/aftercare/confirmation", json={field_name: value})
    assert r.status_code == 422
    (error,) = r.json()["detail"]
    assert (error["loc"], error["type"]) == (["body", field_name], "extra_forbidden")
    async with api.db.sessions() as s:
        assert (await s.get(AftercarePlan, "acp-1")).confirmed_by_participant is False


async def test_check_in_answers_are_recorded_by_the_caller(api):
    r = await api.as_(CLINICIAN).http.post("/follow-ups/fu-ep1-d7/check-in", json={**WELL, "phq9_item9": 1})
    assert r.status_code == 200 and r.json()["safety_flag"]["severity"] == "moderate"
    fu = await api.follow_up("fu-ep1-d7")
    assert (fu.answered_by, fu.answered_by_role) == ("kc-77aa-clinician", "clinician")
    clinician = {"id": "kc-77aa-clinician", "role": "clinician"}
    assert (await api.events("follow_up_completed.v1"))[0]["actor"] == clinician
    assert (await api.events("safety_risk_flagged.v1"))[0]["actor"] == clinician
    r = await api.http.post("/follow-ups/fu-ep1-d7/check-in", json={**WELL, "recorded_by": "staff-1"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "recorded_by"]


async def test_a_check_in_flag_is_acknowledged_and_resolved_by_the_caller_not_a_body_field(api):
    r = await api.as_(CASE_MANAGER).http.post("/follow-ups/fu-ep1-d7/check-in", json={**WELL, "phq9_item9": 2})
    flag_id = r.json()["safety_flag"]["flag_id"]
    r = await api.as_(CLINICIAN).http.post(f"/safety-flags/{flag_id}/resolution",
                                           json={"action_taken": "safety_plan", "resolved_by": "kc-someone-else"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "resolved_by"]
    r = await api.http.post(f"/safety-flags/{flag_id}/resolution", json={"action_taken": "safety_plan"})
    assert r.status_code == 200
    flag = r.json()
    assert (flag["status"], flag["resolved_by"], flag["resolved_by_role"]) == ("resolved", "kc-77aa-clinician",
                                                                              "clinician")
    assert (flag["acknowledged_by"], flag["acknowledged_by_role"]) == ("kc-77aa-clinician", "clinician")
    clinician = {"id": "kc-77aa-clinician", "role": "clinician"}
    (ack,) = await api.events("safety_flag_acknowledged.v1")
    (resolved,) = await api.events("safety_flag_resolved.v1")
    assert (ack["acknowledged_by"], ack["actor"]) == ("kc-77aa-clinician", clinician)
    assert (resolved["resolved_by"], resolved["actor"]) == ("kc-77aa-clinician", clinician)


async def test_a_retried_check_in_with_the_same_key_is_recorded_once(api):
    once = {"Idempotency-Key": "check-in-fu-ep1-d7-1"}
    first = await api.as_(CLINICIAN).http.post("/follow-ups/fu-ep1-d7/check-in", json=WELL, headers=once)
    again = await api.http.post("/follow-ups/fu-ep1-d7/check-in", json=WELL, headers=once)
    assert first.status_code == again.status_code == 200 and again.json() == first.json()
    assert not again.json()["additional_answer"], "answered from the first: not an additional answer"
    assert len(await api.events("follow_up_completed.v1")) == 1
    other = await api.http.post("/follow-ups/fu-ep1-d7/check-in", json={**WELL, "phq9_total": 9}, headers=once)
    assert other.status_code == 422 and other.json()["header"] == "Idempotency-Key"


async def test_a_refused_command_changes_nothing_and_answers_its_status(api):
    r = await api.as_(CASE_MANAGER).http.post("/participants/p-1/aftercare/confirmation")
    assert (r.status_code, r.json()["detail"]) == (
        409, "the relapse-prevention plan is empty: write it with the participant first")
    r = await api.http.put("/participants/p-9/reminder-contact", json={"email": "p9@example.org"},
                           headers={"Idempotency-Key": "contact-p9"})
    assert r.status_code == 204 and r.content == b""
