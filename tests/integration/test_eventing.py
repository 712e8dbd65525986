"""The eventing plumbing against the real broker and a real SQLite database: outbox and
relay with the idempotent producer, the idempotent consumer, dead letters."""

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from datetime import time as dtime

import pytest
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient
from sqlalchemy import func, select

from deploy.processes import free_port
from services.contracts.codes import AssessmentKind, Finding, LevelOfCare, Weekday
from services.contracts.envelope import EventContext, to_record, wrap
from services.contracts.events_intake import AssessmentCompleted, AvailabilityWindow, InstrumentScore
from services.contracts.topics import dead_letter_topic, declared_topics, events_topic
from services.eventing.consumer import EventConsumer, IncomingMessage, Outcome
from services.eventing.database import OutboxMessage
from services.eventing.kafka_clients import idempotent_producer
from services.eventing.outbox import Outbox
from services.eventing.relay import OutboxRelay
from services.eventing.settings import KafkaSettings
from services.planning.handlers import HANDLERS as PLANNING_HANDLERS
from services.planning.tables import PlanVersion
from tests.support.kafka_reader import TopicReader

pytestmark = pytest.mark.integration


def assessment_event(pid: str) -> AssessmentCompleted:
    return AssessmentCompleted(
        participant_id=pid, assessment_id=f"asm-{pid}", referral_id=f"ref-{pid}", episode_id=f"ep-{pid}",
        kind=AssessmentKind.INITIAL, completed_at=datetime.now(UTC),
        scores=(InstrumentScore(instrument="phq9", total=14, band="moderate"),),
        findings=(Finding.DEPRESSIVE_SYMPTOMS,),
        availability=(AvailabilityWindow(day=Weekday.MON, start=dtime(18), end=dtime(21)),),
        recommended_level_of_care=LevelOfCare.INTENSIVE_OUTPATIENT, admitted_to_iop=True)


def incoming(value: bytes | None, headers=(), offset: int = 0) -> IncomingMessage:
    return IncomingMessage("continuum.intake.events", 0, offset, b"p-x", value, tuple(headers))


def test_declared_topics_exist_with_their_partitions_and_configs(kafka_stack):
    prefix = kafka_stack.config.topic_prefix
    admin = KafkaAdminClient(bootstrap_servers=kafka_stack.bootstrap)
    try:
        specs = declared_topics(prefix)
        described = {t["name"]: t for t in admin.describe_topics([s.name for s in specs])}
        for spec in specs:
            assert len(described[spec.name]["partitions"]) == spec.partitions
        dlq = dead_letter_topic("intake", prefix)
        configs = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, events_topic("intake", prefix)),
                                          ConfigResource(ConfigResourceType.TOPIC, dlq)])["topic"]
        assert configs[events_topic("intake", prefix)]["retention.ms"]["value"] == "-1"
        assert configs[dlq]["retention.ms"]["value"] == str(30 * 24 * 3600 * 1000)
    finally:
        admin.close()


async def test_relay_publishes_the_outbox_with_an_idempotent_acks_all_producer(kafka_stack, prefix, planning_db):
    ctx = EventContext.new("tenant-1", "adult-mh")
    async with planning_db.transaction() as session:
        written = [Outbox(session, "intake", prefix).add(assessment_event(f"p-{i}"), ctx) for i in range(3)]
    producer = idempotent_producer(KafkaSettings(bootstrap_servers=kafka_stack.bootstrap), "test-relay")
    assert producer._sender._acks == -1, "acks=all"
    assert producer._txn_manager is not None, "idempotence enabled"
    await producer.start()
    try:
        relay = OutboxRelay(planning_db, producer)
        assert await relay.publish_pending() == 3
        assert await relay.publish_pending() == 0, "published rows are not resent"
    finally:
        await producer.stop()
    reader = TopicReader(kafka_stack.bootstrap, events_topic("intake", prefix))
    try:
        records = reader.wait_for(lambda rs: len(rs) >= 3, 20, "three relayed events")
    finally:
        reader.close()
    assert sorted(r.headers["ce_id"].decode() for r in records) == sorted(ce.id for ce in written)
    assert {r.key for r in records} == {b"p-0", b"p-1", b"p-2"}
    assert all(r.event["tenantid"] == "tenant-1" and r.event["specversion"] == "1.0" for r in records)


async def test_a_redelivered_event_has_no_second_effect(planning_db):
    consumer = EventConsumer("planning", planning_db, PLANNING_HANDLERS)
    value = to_record(wrap(assessment_event("p-redeliver"), EventContext.new("t", "adult-mh"))).value
    assert await consumer.handle(incoming(value, offset=1)) is Outcome.HANDLED
    assert await consumer.handle(incoming(value, offset=1)) is Outcome.DUPLICATE
    assert await consumer.handle(incoming(value, offset=7)) is Outcome.DUPLICATE, "replayed at another offset"
    async with planning_db.sessions() as s:
        plans = await s.scalar(select(func.count()).select_from(PlanVersion))
        outbox = await s.scalar(select(func.count()).select_from(OutboxMessage))
    assert (plans, outbox) == (1, 1)


async def test_bad_messages_are_dead_lettered_with_their_reason(kafka_stack, prefix, planning_db):
    consumer = EventConsumer("planning", planning_db, PLANNING_HANDLERS, topic_prefix=prefix)
    good = json.loads(to_record(wrap(assessment_event("p-ok"), EventContext.new("t", "adult-mh"))).value)
    poison = {
        b"not json at all": "not JSON",
        json.dumps({"hello": "world"}).encode(): "not a CloudEvent",
        json.dumps({**good, "id": "u1", "type": "continuum.intake.mystery.v1"}).encode(): "unknown event type",
        json.dumps({**good, "id": "u2", "data": {**good["data"], "kind": "sideways"}}).encode(): "invalid",
    }
    for n, value in enumerate(poison):
        outcome = await consumer.handle(incoming(value, headers=[("x-origin", b"test")], offset=n))
        assert outcome is Outcome.DEAD_LETTERED
    # the consumer keeps going: the next real event is handled
    assert await consumer.handle(incoming(json.dumps(good).encode(), offset=99)) is Outcome.HANDLED
    producer = idempotent_producer(KafkaSettings(bootstrap_servers=kafka_stack.bootstrap), "test-dlq")
    await producer.start()
    try:
        await OutboxRelay(planning_db, producer).publish_pending()
    finally:
        await producer.stop()
    reader = TopicReader(kafka_stack.bootstrap, dead_letter_topic("planning", prefix))
    try:
        records = reader.wait_for(lambda rs: len(rs) >= 4, 20, "four dead letters")
    finally:
        reader.close()
    by_value = {r.value: r for r in records}
    for value, reason in poison.items():
        dead = by_value[value]  # the original bytes, unchanged
        assert reason in dead.headers["dlq_reason"].decode()
        assert dead.headers["x-origin"] == b"test", "original headers kept"
        assert dead.headers["dlq_consumer"] == b"planning"


async def test_a_handler_bug_is_dead_lettered_not_raised(planning_db):
    async def broken(ctx, event):
        raise RuntimeError("bug in handler")

    consumer = EventConsumer("planning", planning_db, {AssessmentCompleted: broken})
    value = to_record(wrap(assessment_event("p-bug"), EventContext.new("t", "adult-mh"))).value
    assert await consumer.handle(incoming(value)) is Outcome.DEAD_LETTERED
    async with planning_db.sessions() as s:
        row = await s.scalar(select(OutboxMessage).where(OutboxMessage.event_type == "dead_letter"))
    assert "RuntimeError: bug in handler" in dict(row.headers())["dlq_reason"].decode()


def test_unreachable_kafka_is_a_clear_error_within_seconds(tmp_path):
    address = f"127.0.0.1:{free_port()}"
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": address, "KAFKA_CONNECT_TIMEOUT_S": "5",
           "CONTINUUM_ENVIRONMENT": "development",  # an issuer is configured, never asked (Kafka fails first)
           "CONTINUUM_AUTH_ISSUER": "http://127.0.0.1:9/realms/continuum",
           "CONTINUUM_DATA_DIR": str(tmp_path), "CONTINUUM_PLANNING_HTTP_PORT": str(free_port())}
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "services.planning"], env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2
    assert f"Kafka is unreachable at {address}" in proc.stderr
    assert time.monotonic() - started < 30


async def test_a_constraint_the_handler_breaks_is_dead_lettered_not_taken_for_a_duplicate(planning_db):
    from services.planning.tables import PlanVersion as Row

    async def clashing(ctx, event):
        ctx.session.add(Row(plan_id="plan-same", version=1, participant_id=event.participant_id,
                            episode_id="ep", tenant_id="t", program_id="adult-mh", body={}))

    consumer = EventConsumer("planning", planning_db, {AssessmentCompleted: clashing})
    first = to_record(wrap(assessment_event("p-one"), EventContext.new("t", "adult-mh"))).value
    second = to_record(wrap(assessment_event("p-two"), EventContext.new("t", "adult-mh"))).value
    assert await consumer.handle(incoming(first)) is Outcome.HANDLED
    assert await consumer.handle(incoming(second, offset=1)) is Outcome.DEAD_LETTERED
    async with planning_db.sessions() as s:
        row = await s.scalar(select(OutboxMessage).where(OutboxMessage.event_type == "dead_letter"))
    assert "IntegrityError" in dict(row.headers())["dlq_reason"].decode()


async def test_one_relay_at_a_time_publishes_a_shared_outbox_and_another_takes_over(kafka_stack, prefix,
                                                                                   planning_db):
    ctx = EventContext.new("tenant-1", "adult-mh")

    async def write(n: int) -> None:
        async with planning_db.transaction() as session:
            for _ in range(n):
                Outbox(session, "intake", prefix).add(assessment_event(f"p-lease-{uuid.uuid4().hex[:6]}"), ctx)

    producer = idempotent_producer(KafkaSettings(bootstrap_servers=kafka_stack.bootstrap), "test-lease")
    await producer.start()
    try:
        # a lease long enough that a slow first publish on a busy machine does not outlive it
        first = OutboxRelay(planning_db, producer, lease_s=8)
        second = OutboxRelay(planning_db, producer, lease_s=8)
        await write(2)
        assert await first.publish_pending() == 2
        await write(2)
        assert await second.publish_pending() == 0, "the lease holder alone publishes"
        time.sleep(8.1)  # noqa: ASYNC251  the first worker died: its lease lapses (nothing on the loop runs either)
        assert await second.publish_pending() == 2
        assert await first.publish_pending() == 0, "the lease moved"
        await second.lease.release()
        await write(1)
        assert await first.publish_pending() == 1, "a released lease is taken at once"
    finally:
        await producer.stop()


async def test_a_batch_commits_together_and_a_bad_message_is_dead_lettered_alone(planning_db):
    from services.eventing.database import ProcessedEvent

    plan_for = PLANNING_HANDLERS[AssessmentCompleted]

    async def plans_then_fails_for_p_bug(ctx, event):
        await plan_for(ctx, event)  # its plan and PlanCreated must be rolled back with it
        if event.participant_id == "p-bug":
            raise RuntimeError("bug in handler")

    consumer = EventConsumer("planning", planning_db, {AssessmentCompleted: plans_then_fails_for_p_bug})
    value = {p: to_record(wrap(assessment_event(p), EventContext.new("t", "adult-mh"))).value
             for p in ("p-a", "p-bug", "p-b")}
    batch = [incoming(value["p-a"], offset=0), incoming(b"not json", offset=1), incoming(value["p-bug"], offset=2),
             incoming(value["p-a"], offset=3), incoming(value["p-b"], offset=4)]
    assert await consumer.handle_batch(batch) == [
        Outcome.HANDLED, Outcome.DEAD_LETTERED, Outcome.DEAD_LETTERED, Outcome.DUPLICATE, Outcome.HANDLED]
    async with planning_db.sessions() as s:
        planned = set(await s.scalars(select(PlanVersion.participant_id)))
        outbox = (await s.execute(select(OutboxMessage.event_type, OutboxMessage.key))).all()
        recorded = await s.scalar(select(func.count()).select_from(ProcessedEvent))
    assert planned == {"p-a", "p-b"}, "the failing message's effects are rolled back alone"
    assert sorted(k for t, k in outbox if t == "dead_letter") == [b"p-x", b"p-x"]
    assert {k for t, k in outbox if t != "dead_letter"} == {b"p-a", b"p-b"}
    assert recorded == 2
    assert consumer.counts == {"handled": 2, "dead_lettered": 2, "duplicate": 1}


async def test_a_transient_failure_in_a_batch_retries_it_one_message_at_a_time(planning_db):
    from services.eventing.consumer import TransientError

    plan_for = PLANNING_HANDLERS[AssessmentCompleted]
    failures = {"p-flaky": 1}

    async def flaky(ctx, event):
        await plan_for(ctx, event)
        if failures.get(event.participant_id, 0) > 0:
            failures[event.participant_id] -= 1
            raise TransientError("dependency briefly down")

    consumer = EventConsumer("planning", planning_db, {AssessmentCompleted: flaky}, max_backoff_s=0.1)
    batch = [incoming(to_record(wrap(assessment_event(p), EventContext.new("t", "adult-mh"))).value, offset=n)
             for n, p in enumerate(("p-first", "p-flaky", "p-last"))]
    assert await consumer.handle_batch(batch) == [Outcome.HANDLED] * 3
    async with planning_db.sessions() as s:
        plans = list(await s.scalars(select(PlanVersion.participant_id)))
        events = await s.scalar(select(func.count()).select_from(OutboxMessage))
    assert sorted(plans) == ["p-first", "p-flaky", "p-last"], "each planned once: the first try was rolled back"
    assert events == 3


async def test_a_producer_the_broker_refuses_for_good_is_replaced_and_the_rows_go_out(planning_db, kafka_stack,
                                                                                      prefix):
    """After a broker restart the idempotent producer may get OutOfOrderSequenceNumber on every
    send, forever (seen in the fault suite): the relay replaces it with a new one. The refusal
    cannot be provoked on demand from a real broker, so the first producer here is one that
    answers every send with it; the replacement is a real idempotent producer."""
    from aiokafka.errors import OutOfOrderSequenceNumber

    class Refused:
        stopped = False

        async def send(self, *args, **kwargs):
            raise OutOfOrderSequenceNumber()

        async def stop(self):
            Refused.stopped = True

    async with planning_db.transaction() as session:
        Outbox(session, "intake", prefix).add(assessment_event("p-renew"), EventContext.new("t", "adult-mh"))
    settings = KafkaSettings(bootstrap_servers=kafka_stack.bootstrap)
    relay = OutboxRelay(planning_db, Refused(), renew=lambda: idempotent_producer(settings, "test-renew"))
    task = asyncio.create_task(relay.run())
    try:
        for _ in range(300):  # the relay runs on this loop: wait for its stamp without blocking it
            async with planning_db.sessions() as s:
                if await s.scalar(select(OutboxMessage.published_at).where(OutboxMessage.key == b"p-renew")):
                    break
            await asyncio.sleep(0.1)
    finally:
        relay._stopping = True
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await relay.producer.stop()
    assert Refused.stopped and not isinstance(relay.producer, Refused)
    reader = TopicReader(kafka_stack.bootstrap, events_topic("intake", prefix))
    try:
        records = reader.wait_for(lambda rs: any(r.key == b"p-renew" for r in rs), 30, "the row published")
    finally:
        reader.close()
    assert [r.key for r in records] == [b"p-renew"]
