"""Dead letters against a real SQLite database: the consumer settles one alike whether its
message came alone or in a batch (the same counts, metrics and log line), and storing one is
retried (tenacity) when the first transactions fail: the consumer's own dead letter is tried
until it is stored; operations' record of a dead letter has a bounded number of tries, then
is logged and skipped."""

from contextlib import asynccontextmanager

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from services.contracts.envelope import EventContext, to_record, wrap
from services.contracts.events_intake import AssessmentCompleted
from services.eventing.consumer import EventConsumer, IncomingMessage, Outcome
from services.eventing.database import Database, OutboxMessage
from services.eventing.metrics import DEAD_LETTERS, EVENTS_CONSUMED, HANDLER_FAILURES
from services.operations.handlers import record_dead_letter
from services.operations.tables import OperationsBase
from services.planning.handlers import HANDLERS as PLANNING_HANDLERS
from tests.integration.test_eventing import assessment_event

pytestmark = pytest.mark.integration


def failing_first(db: Database, failures: int) -> list[int]:
    """Make ``db.transaction`` fail ``failures`` times before it works; the calls are counted."""
    real, calls = db.transaction, []

    @asynccontextmanager
    async def transaction(*args, **kwargs):
        calls.append(1)
        if len(calls) <= failures:
            raise OperationalError("BEGIN IMMEDIATE", {}, Exception("database is locked"))
        async with real(*args, **kwargs) as session:
            yield session

    db.transaction = transaction
    return calls


def dead_letter(offset: int = 0) -> IncomingMessage:
    headers = (("dlq_reason", b"not JSON: x"), ("dlq_topic", b"continuum.intake.events"),
               ("dlq_partition", b"0"), ("dlq_offset", str(offset).encode()), ("dlq_consumer", b"planning"))
    return IncomingMessage("continuum.planning.dlq", 0, offset, b"p-x", b"not json", headers)


def settled_metrics(service: str) -> tuple[float, ...]:
    event_type = AssessmentCompleted.event_type
    return (DEAD_LETTERS.labels(service, "handler_failed")._value.get(),
            DEAD_LETTERS.labels(service, "not_json")._value.get(),
            HANDLER_FAILURES.labels(service, event_type, "permanent")._value.get(),
            EVENTS_CONSUMED.labels(service, event_type, "dead_lettered")._value.get(),
            EVENTS_CONSUMED.labels(service, "unknown", "dead_lettered")._value.get(),
            EVENTS_CONSUMED.labels(service, event_type, "handled")._value.get())


@pytest.mark.parametrize("path", ["alone", "batch"])
async def test_a_message_is_settled_alike_alone_or_in_a_batch(planning_db, path):
    async def broken_for_p_bug(ctx, event):
        if event.participant_id == "p-bug":
            raise RuntimeError("bug in handler")

    service = f"settle-{path}"  # metrics of its own
    consumer = EventConsumer(service, planning_db, {AssessmentCompleted: broken_for_p_bug})
    typed = (("ce_type", AssessmentCompleted.event_type.encode()),)
    value = {p: to_record(wrap(assessment_event(p), EventContext.new("t", "adult-mh"))).value
             for p in ("p-ok", "p-bug")}
    msgs = [IncomingMessage("continuum.intake.events", 0, 0, b"p-ok", value["p-ok"], typed),
            IncomingMessage("continuum.intake.events", 0, 1, b"p-bug", value["p-bug"], typed),
            IncomingMessage("continuum.intake.events", 0, 2, None, b"not json")]
    if path == "alone":
        outcomes = [await consumer.handle(m) for m in msgs]
    else:
        outcomes = await consumer.handle_batch(msgs)
    assert outcomes == [Outcome.HANDLED, Outcome.DEAD_LETTERED, Outcome.DEAD_LETTERED]
    assert consumer.counts == {"handled": 1, "dead_lettered": 2}
    assert settled_metrics(service) == (1, 1, 1, 1, 1, 1)
    async with planning_db.sessions() as s:
        stored = await s.scalar(select(func.count()).select_from(OutboxMessage)
                                .where(OutboxMessage.event_type == "dead_letter"))
    assert stored == 2


async def test_the_consumer_stores_a_dead_letter_once_the_store_works_again(planning_db):
    woken = []
    consumer = EventConsumer("planning", planning_db, PLANNING_HANDLERS, on_commit=lambda: woken.append(1),
                             dead_letter_backoff_s=(0.01, 0.02))
    calls = failing_first(planning_db, 3)
    msg = IncomingMessage("continuum.intake.events", 0, 5, b"p-x", b"not json")
    assert await consumer.handle(msg) is Outcome.DEAD_LETTERED
    assert len(calls) == 4, "three failures, then stored"
    async with planning_db.sessions() as s:
        stored = await s.scalar(select(func.count()).select_from(OutboxMessage)
                                .where(OutboxMessage.event_type == "dead_letter"))
    assert stored == 1
    assert woken == [1], "the relay is woken once, after the commit"
    assert consumer.counts == {"dead_lettered": 1}


@pytest.fixture
async def operations_db(sqlite_database) -> Database:
    return await sqlite_database("operations", OperationsBase.metadata)


async def test_operations_records_a_dead_letter_after_failed_tries(operations_db):
    calls = failing_first(operations_db, 2)
    assert await record_dead_letter(operations_db, dead_letter(), attempts=3, backoff_s=(0.01, 0.02))
    assert len(calls) == 3


async def test_operations_gives_up_on_a_dead_letter_after_its_tries_without_raising(operations_db):
    calls = failing_first(operations_db, 10)
    assert not await record_dead_letter(operations_db, dead_letter(), attempts=4, backoff_s=(0.01, 0.02))
    assert len(calls) == 4
