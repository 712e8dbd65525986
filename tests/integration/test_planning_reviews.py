"""Planning's event handling against the real broker and a real SQLite database: events are
produced to Kafka, read back as the service's agent reads them, handled by the idempotent
consumer with planning's handlers, and the outbox relayed to Kafka by the idempotent producer."""

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from datetime import time as dtime

import pytest
from kafka import KafkaProducer
from sqlalchemy import select

from services.contracts.codes import (
    AssessmentKind,
    Finding,
    LevelOfCare,
    Modality,
    RiskSeverity,
    Weekday,
)
from services.contracts.envelope import EventContext, to_record, wrap
from services.contracts.events_intake import (
    AssessmentCompleted,
    AssessmentSafetyFlagResolved,
    AvailabilityWindow,
    InstrumentScore,
    SafetyRiskFlagged,
)
from services.contracts.events_scheduling import SessionAttended
from services.contracts.topics import events_topic
from services.eventing.consumer import EventConsumer, IncomingMessage, Outcome
from services.eventing.database import Database, OutboxMessage
from services.eventing.kafka_clients import idempotent_producer
from services.eventing.relay import OutboxRelay
from services.eventing.settings import KafkaSettings
from services.planning.handlers import HANDLERS
from services.planning.tables import CarePlanState, ParkedInput
from tests.support.kafka_reader import TopicReader

pytestmark = pytest.mark.integration

CTX = EventContext.new("tenant-it", "adult-mh")
T0 = datetime(2026, 11, 2, 18, tzinfo=UTC)


@pytest.fixture
def db(planning_db):
    return planning_db


def open_reader(bootstrap: str, topic: str) -> TopicReader:
    """A reader of a freshly created topic, once the client's metadata has its partitions."""
    deadline = time.monotonic() + 20
    while True:
        try:
            return TopicReader(bootstrap, topic)
        except ValueError:  # no partitions known yet
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


class Harness:
    """Produce to the real topics, read back, hand to planning's consumer, relay its outbox."""

    def __init__(self, kafka_stack, prefix: str, db: Database):
        self.bootstrap, self.prefix, self.db = kafka_stack.bootstrap, prefix, db
        self.consumer = EventConsumer("planning", db, HANDLERS, topic_prefix=prefix)
        self.producer = KafkaProducer(bootstrap_servers=self.bootstrap, acks="all")
        self.readers: dict[str, TopicReader] = {}
        self.seen = {"intake": 0, "scheduling": 0}

    def produce(self, event, *, value: bytes | None = None) -> bytes:
        rec = to_record(wrap(event, CTX))
        value = value or rec.value
        self.producer.send(events_topic(event.producer, self.prefix), key=rec.key, value=value,
                           headers=list(rec.headers))
        self.producer.flush()
        return value

    async def deliver(self, service: str, count: int = 1) -> list[Outcome]:
        """Read ``count`` new records of a service's topic from Kafka and handle them in order."""
        if service not in self.readers:
            self.readers[service] = open_reader(self.bootstrap, events_topic(service, self.prefix))
        reader = self.readers[service]
        want = self.seen[service] + count
        reader.wait_for(lambda rs: len(rs) >= want, 20, f"{count} records on {service}")
        new, self.seen[service] = reader.records[self.seen[service]:want], want
        return [await self.consumer.handle(IncomingMessage(r.topic, r.partition, r.offset, r.key, r.value,
                                                           tuple(r.headers.items()))) for r in new]

    async def published(self, what: str, count: int) -> list[dict]:
        """Relay planning's outbox to Kafka; read planning's topic back."""
        producer = idempotent_producer(KafkaSettings(bootstrap_servers=self.bootstrap), f"it-{uuid.uuid4().hex[:6]}")
        await producer.start()
        try:
            await OutboxRelay(self.db, producer).publish_pending()
        finally:
            await producer.stop()
        reader = open_reader(self.bootstrap, events_topic("planning", self.prefix))
        try:
            reader.wait_for(lambda rs: len(reader.events(None, what)) >= count, 20, f"{count} x {what}")
            return reader.events(None, what)
        finally:
            reader.close()

    def close(self) -> None:
        self.producer.close()
        for r in self.readers.values():
            r.close()


@pytest.fixture
def harness(kafka_stack, prefix, db):
    h = Harness(kafka_stack, prefix, db)
    yield h
    h.close()


def assessed(pid: str, kind=AssessmentKind.INITIAL, phq9: int = 16, at: datetime = T0,
             assessment_id: str | None = None) -> AssessmentCompleted:
    return AssessmentCompleted(
        participant_id=pid, assessment_id=assessment_id or f"asm-{uuid.uuid4().hex[:8]}", referral_id=f"ref-{pid}",
        episode_id=f"ep-{pid}", kind=kind, completed_at=at,
        scores=(InstrumentScore(instrument="phq9", total=phq9, band="x"),),
        findings=(Finding.DEPRESSIVE_SYMPTOMS, Finding.ALCOHOL_USE), goal_ids=("goal-1",),
        availability=(AvailabilityWindow(day=Weekday.MON, start=dtime(17), end=dtime(21)),),
        recommended_level_of_care=LevelOfCare.INTENSIVE_OUTPATIENT, admitted_to_iop=True)


def attended(pid: str, plan_id: str, n: int) -> SessionAttended:
    return SessionAttended(participant_id=pid, session_id=f"ses-{pid}-{n}", plan_id=plan_id,
                           modality=Modality.GROUP_PROCESS, minutes_attended=180,
                           attended_at=T0 + timedelta(days=n))


async def plan_of(db: Database, pid: str) -> CarePlanState:
    async with db.sessions() as s:
        return await s.scalar(select(CarePlanState).where(CarePlanState.participant_id == pid))


async def test_one_assessment_yields_exactly_one_plan_also_when_delivered_twice(harness):
    event = assessed("p-once")
    value = harness.produce(event)
    harness.produce(event, value=value)  # the same CloudEvent again: a redelivery
    assert await harness.deliver("intake", 2) == [Outcome.HANDLED, Outcome.DUPLICATE]
    [created] = await harness.published("plan_created.v1", 1)
    plan = created["data"]
    assert plan["participant_id"] == "p-once" and plan["plan_version"] == 1
    assert 9 <= plan["weekly_hours_target"] <= plan["weekly_hours_maximum"] == 19
    assert [p["finding"] for p in plan["problems"]] == ["depressive_symptoms", "alcohol_use"]
    assert plan["goals"][0]["goal_id"] == "goal-1" and plan["goals"][0]["target"]["measure"] == "phq9_total"
    assert {"group_cbt_skills", "group_relapse_prevention"} <= {i["modality"] for i in plan["interventions"]}
    assert created["causationid"] == json.loads(value)["id"], "caused by the assessment"


async def test_reassessment_and_attendance_yield_ready_for_step_down(harness, db):
    harness.produce(assessed("p-better", phq9=16))
    await harness.deliver("intake")
    plan_id = (await plan_of(db, "p-better")).plan_id
    for n in (1, 2):
        harness.produce(attended("p-better", plan_id, n))
    # the re-assessment (intake's topic) can overtake the last attendance (scheduling's topic)
    harness.produce(assessed("p-better", AssessmentKind.REASSESSMENT, phq9=4, at=T0 + timedelta(days=10)))
    harness.produce(attended("p-better", plan_id, 3))
    assert await harness.deliver("scheduling", 2) == [Outcome.HANDLED] * 2
    assert await harness.deliver("intake") == [Outcome.HANDLED]
    assert (await plan_of(db, "p-better")).status == "active", "two sessions are not enough yet"
    assert await harness.deliver("scheduling") == [Outcome.HANDLED]

    [ready] = await harness.published("ready_for_step_down.v1", 1)
    data = ready["data"]
    assert data["plan_id"] == plan_id and data["recommended_level_of_care"] == "1"
    assert data["current_level_of_care"] == "2.1" and data["sessions_attended"] == 3
    assert {"phq9_response", "phq9_remission", "attendance_share_met", "no_open_safety_flag"} <= set(
        data["reason_codes"])
    reviews = await harness.published("progress_reviewed.v1", 2)
    assert [(r["data"]["trigger"], r["data"]["decision"]) for r in reviews] == [
        ("reassessment", "continue"), ("attendance", "step_down")]
    assert reviews[1]["data"]["review_id"] == data["review_id"]
    assert reviews[1]["data"]["phq9_change"] == -12


async def test_worsening_or_a_high_safety_flag_steps_up(harness, db):
    harness.produce(assessed("p-worse", phq9=12))
    await harness.deliver("intake")
    harness.produce(assessed("p-worse", AssessmentKind.REASSESSMENT, phq9=17, at=T0 + timedelta(days=7)))
    await harness.deliver("intake")
    harness.produce(SafetyRiskFlagged(participant_id="p-worse", flag_id="flag-1", assessment_id="asm-x",
                                      severity=RiskSeverity.HIGH, triggers=("cssrs_positive",), flagged_at=T0,
                                      respond_by=T0 + timedelta(hours=1)))
    await harness.deliver("intake")
    [step_up] = await harness.published("step_up_recommended.v1", 1)
    assert step_up["data"]["recommended_level_of_care"] == "2.5"
    assert step_up["data"]["reason_codes"] == ["phq9_worsening"]
    reviews = await harness.published("progress_reviewed.v1", 2)
    assert [r["data"]["decision"] for r in reviews] == ["step_up", "step_up"], "a review each, one step-up"
    assert "safety_risk_high" in reviews[1]["data"]["reason_codes"]


async def test_intakes_resolution_of_its_flag_closes_plannings_copy_and_reviews_again(harness, db):
    from services.planning.tables import SafetyFlag

    harness.produce(assessed("p-flag", phq9=16))
    await harness.deliver("intake")
    harness.produce(SafetyRiskFlagged(participant_id="p-flag", flag_id="flag-r", assessment_id="asm-r",
                                      severity=RiskSeverity.MODERATE, triggers=("phq9_item9",), flagged_at=T0,
                                      respond_by=T0 + timedelta(hours=24)))
    harness.produce(AssessmentSafetyFlagResolved(
        participant_id="p-flag", flag_id="flag-r", episode_id="ep-p-flag", severity=RiskSeverity.MODERATE,
        action_taken="safety_plan", resolved_by="staff-clin-5", resolved_at=T0 + timedelta(hours=2), flagged_at=T0))
    assert await harness.deliver("intake", 2) == [Outcome.HANDLED] * 2
    async with db.sessions() as s:
        flag = await s.get(SafetyFlag, "flag-r")
    assert flag.resolved_by == "staff-clin-5" and flag.resolved_at is not None
    reviews = await harness.published("progress_reviewed.v1", 2)
    assert [r["data"]["trigger"] for r in reviews] == ["safety_flag", "safety_flag_resolved"]
    assert [r["data"]["open_safety_flags"] for r in reviews] == [1, 0]


async def test_unknown_participants_are_dead_lettered_and_out_of_order_inputs_parked(harness, db):
    harness.produce(attended("p-stranger", "plan-nowhere", 1))
    assert await harness.deliver("scheduling") == [Outcome.DEAD_LETTERED]
    harness.produce(assessed("p-stranger", AssessmentKind.REASSESSMENT, phq9=3))
    assert await harness.deliver("intake") == [Outcome.DEAD_LETTERED]
    async with db.sessions() as s:
        reasons = [dict(m.headers())["dlq_reason"].decode() for m in (await s.scalars(
            select(OutboxMessage).where(OutboxMessage.event_type == "dead_letter"))).all()]
    assert len(reasons) == 2 and all("UnknownParticipant" in r and "p-stranger" in r for r in reasons)

    harness.produce(assessed("p-late", phq9=15, at=T0 + timedelta(days=5)))
    await harness.deliver("intake")
    # a re-assessment older than the assessment already applied is parked, not applied
    harness.produce(assessed("p-late", AssessmentKind.REASSESSMENT, phq9=2, at=T0 + timedelta(days=1)))
    harness.produce(assessed("p-late", phq9=15, at=T0 + timedelta(days=6)))  # a second initial, new id
    assert await harness.deliver("intake", 2) == [Outcome.HANDLED, Outcome.HANDLED]
    async with db.sessions() as s:
        parked = (await s.scalars(select(ParkedInput).where(ParkedInput.participant_id == "p-late"))).all()
    assert [p.reason.split(":")[0] for p in parked] == ["out_of_order", "plan_exists_for_episode"]
    assert all(p.event_type == "continuum.intake.assessment_completed.v1" for p in parked)
    state = await plan_of(db, "p-late")
    assert state.phq9_latest is None and state.last_decision is None, "the parked input changed nothing"
    assert len(await harness.published("plan_created.v1", 1)) == 1
