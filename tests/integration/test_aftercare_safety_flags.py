"""Aftercare's safety flags on its own SQLite store (no Kafka needed): a check-in with a safety
finding raises a flag whatever the follow-up's state, an answer to a completed or cancelled
follow-up is kept as an additional answer, the sweep escalates an unacknowledged flag level by
level, and acknowledgement and resolution are recorded with their events."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from services.aftercare import safety_flags
from services.aftercare.domain.follow_up_rules import CheckIn
from services.aftercare.handlers import Aftercare
from services.aftercare.settings import AftercareSettings
from services.aftercare.tables import AdditionalAnswer, AftercareBase, FollowUp, SafetyFlag
from services.clinical_safety.flags import FlagConflict
from services.clinical_safety.screeners import CssrsAnswers
from services.contracts.base import Actor
from services.contracts.codes import SafetyAction
from services.eventing.database import Database
from services.eventing.outbox import Outbox

pytestmark = pytest.mark.integration

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CLIN_7, CLIN_8 = Actor(id="staff-clin-7", role="clinician"), Actor(id="staff-clin-8", role="psychiatrist")
WELL = CheckIn(phq9_total=3, phq9_item9=0, substance_use_since_last_contact=False,
               engaged_with_step_down_provider=True, housing_stable=True, work_or_school_stable=True)


@dataclass
class Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def db(sqlite_database) -> Database:
    return await sqlite_database("aftercare", AftercareBase.metadata)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def aftercare(clock):
    return Aftercare(settings=AftercareSettings(), clock=clock)


async def follow_up(db, status: str, fid: str = "fu-ep1-d30") -> str:
    async with db.transaction() as s:
        s.add(FollowUp(id=fid, participant_id="p-1", episode_id="ep1", tenant_id="t1", program_id="prog1",
                       day_offset=30, due_at=T0 - timedelta(days=1), flow_run_id="r", status=status))
    return fid


async def answer(db, aftercare, fid, check_in, words=""):
    async with db.transaction() as s:
        out = Outbox(s, "aftercare")
        done = await aftercare.record_check_in(s, out, fid, check_in, words)
    return done, [ce.type.split(".")[2] for ce in out.written], out.written


@pytest.mark.parametrize("status", ["scheduled", "open", "missed", "completed", "cancelled"])
async def test_item9_of_2_is_flagged_whatever_the_follow_up_state(db, aftercare, status):
    fid = await follow_up(db, status)
    done, types, written = await answer(db, aftercare, fid, CheckIn(**{**WELL.__dict__, "phq9_item9": 2}))
    assert done.safety_flag is not None and types[0] == "safety_risk_flagged"
    flag = written[0].data
    assert (flag["severity"], flag["follow_up_status"], flag["phq9_item9"]) == ("high", status, 2)
    assert flag["disposition"] == "same_day_suicide_risk_assessment"
    assert datetime.fromisoformat(flag["respond_by"]) == T0 + timedelta(hours=1)
    if status in ("completed", "cancelled"):
        assert done.additional and types == ["safety_risk_flagged"], "no second completion, no second way up"
        async with db.sessions() as s:
            kept = (await s.scalars(select(AdditionalAnswer))).one()
        assert kept.safety_flag_id == done.safety_flag.id and kept.answers["phq9_item9"] == 2
        assert (await _status(db, fid)) == status
    else:
        assert not done.additional and types == ["safety_risk_flagged", "follow_up_completed", "relapse_risk_detected"]


async def _status(db, fid):
    async with db.sessions() as s:
        return (await s.get(FollowUp, fid)).status


@pytest.mark.parametrize("item9, severity", [(0, None), (1, "moderate"), (3, "high")])
async def test_item9_boundaries_at_a_check_in(db, aftercare, item9, severity):
    fid = await follow_up(db, "open")
    done, _types, _ = await answer(db, aftercare, fid, CheckIn(**{**WELL.__dict__, "phq9_item9": item9}))
    assert (done.safety_flag.severity if done.safety_flag else None) == severity


async def test_a_positive_cssrs_at_a_check_in_is_flagged_even_with_item9_0(db, aftercare):
    fid = await follow_up(db, "open")
    high = CssrsAnswers(True, True, False, True, False, False, None)
    done, types, written = await answer(db, aftercare, fid, CheckIn(**{**WELL.__dict__, "cssrs": high}))
    assert written[0].data["severity"] == "high" and written[0].data["cssrs_risk"] == "high"
    assert written[0].data["disposition"] == "same_day_evaluation_for_hospitalisation"
    assert "relapse_risk_detected" in types and done.follow_up.result == "at_risk"


async def test_a_well_answer_to_a_completed_follow_up_is_kept_without_a_flag(db, aftercare):
    fid = await follow_up(db, "completed")
    done, types, _ = await answer(db, aftercare, fid, WELL, "fine")
    assert done.additional and done.safety_flag is None and types == []


async def sweep(db, aftercare, clock):
    async with db.transaction() as s:
        out = Outbox(s, "aftercare")
        n = await safety_flags.escalate_overdue(s, out, clock(), safety_flags.ladder(aftercare.settings))
    return n, [ce.data for ce in out.written]


async def test_an_unacknowledged_flag_escalates_on_call_then_supervisor_then_director(db, aftercare, clock):
    fid = await follow_up(db, "cancelled")
    _done, _, _ = await answer(db, aftercare, fid, CheckIn(**{**WELL.__dict__, "phq9_item9": 2}))
    clock.now = T0 + timedelta(minutes=59)
    assert (await sweep(db, aftercare, clock))[0] == 0
    clock.now = T0 + timedelta(hours=1)
    n, events = await sweep(db, aftercare, clock)
    assert n == 1 and (events[0]["escalation_level"], events[0]["escalated_to"]) == (1, "on_call_clinician")
    assert (await sweep(db, aftercare, clock))[0] == 0, "one event per level"
    clock.now = T0 + timedelta(hours=3)  # a late sweep catches up: supervisor (1 h 30) and director (2 h)
    n, events = await sweep(db, aftercare, clock)
    assert [(e["escalation_level"], e["escalated_to"]) for e in events] == [
        (2, "clinical_supervisor"), (3, "program_director")]
    clock.now = T0 + timedelta(days=2)
    assert (await sweep(db, aftercare, clock))[0] == 0, "the top of the ladder"


async def test_acknowledged_flags_stop_escalating_and_resolution_is_recorded_by_its_actor(db, aftercare, clock):
    fid = await follow_up(db, "open")
    done, _, _ = await answer(db, aftercare, fid, CheckIn(**{**WELL.__dict__, "phq9_item9": 1}))
    flag_id = done.safety_flag.id
    clock.now = T0 + timedelta(minutes=5)
    async with db.transaction() as s:
        out = Outbox(s, "aftercare")
        flag = await safety_flags.get_flag(s, flag_id)
        safety_flags.acknowledge(out, flag, CLIN_7, clock())
        safety_flags.acknowledge(out, flag, CLIN_8, clock())
    assert [ce.type for ce in out.written] == ["continuum.aftercare.safety_flag_acknowledged.v1"]
    assert out.written[0].data["acknowledged_by"] == "staff-clin-7"
    assert out.written[0].data["actor"] == {"id": "staff-clin-7", "role": "clinician"}
    clock.now = T0 + timedelta(days=3)
    assert (await sweep(db, aftercare, clock))[0] == 0
    async with db.transaction() as s:
        out = Outbox(s, "aftercare")
        flag = await safety_flags.get_flag(s, flag_id)
        safety_flags.resolve(out, flag, SafetyAction.SAFETY_PLAN, CLIN_7, clock())
        safety_flags.resolve(out, flag, SafetyAction.SAFETY_PLAN, CLIN_7, clock())
        with pytest.raises(FlagConflict):
            safety_flags.resolve(out, flag, SafetyAction.EMERGENCY_REFERRAL, CLIN_7, clock())
    assert [ce.data["action_taken"] for ce in out.written] == ["safety_plan"]
    assert out.written[0].data["actor"] == {"id": "staff-clin-7", "role": "clinician"}
    async with db.sessions() as s:
        row = await s.get(SafetyFlag, flag_id)
    assert (row.status, row.resolved_by, row.resolved_by_role, row.action_taken) == (
        "resolved", "staff-clin-7", "clinician", "safety_plan")
