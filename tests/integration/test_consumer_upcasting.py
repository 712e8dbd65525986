"""The consumer reads an older version of an event through the contracts' upcasters, on a real
SQLite database: a SessionAttended.v1 message is handled by a handler written for a (test-only)
v2, alone or in a batch; a version nobody knows is dead-lettered with a clear reason."""

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from services.contracts.codes import Modality
from services.contracts.envelope import EventContext, to_record, wrap
from services.contracts.events_scheduling import SessionAttended
from services.eventing.consumer import EventConsumer, IncomingMessage, Outcome
from services.eventing.database import OutboxMessage
from tests.support.upcasting_example import V1, SessionAttendedV2, session_attended_v2

pytestmark = pytest.mark.integration


def attended_v1(pid: str, minutes: int) -> bytes:
    return to_record(wrap(SessionAttended(participant_id=pid, session_id=f"s-{pid}", plan_id=f"plan-{pid}",
                                          modality=Modality.GROUP_PROCESS, minutes_attended=minutes,
                                          attended_at=datetime(2026, 11, 30, 18, tzinfo=UTC)),
                          EventContext.new("t", "adult-mh"))).value


def incoming(value: bytes, offset: int) -> IncomingMessage:
    return IncomingMessage("continuum.scheduling.events", 0, offset, b"p-x", value, (("ce_type", V1.encode()),))


@pytest.mark.parametrize("path", ["alone", "batch"])
async def test_a_v1_message_is_handled_as_v2(planning_db, path):
    seen: list[SessionAttendedV2] = []

    async def on_attended_v2(ctx, event: SessionAttendedV2) -> None:
        assert ctx.cause.type == V1, "the handler still sees the message's own envelope"
        seen.append(event)

    msgs = [incoming(attended_v1("p-a", 50), 0), incoming(attended_v1("p-b", 90), 1)]
    with session_attended_v2():
        consumer = EventConsumer("planning", planning_db, {SessionAttendedV2: on_attended_v2})
        outcomes = ([await consumer.handle(m) for m in msgs] if path == "alone" else await consumer.handle_batch(msgs))
    assert outcomes == [Outcome.HANDLED, Outcome.HANDLED]
    assert [(e.participant_id, e.seconds_attended) for e in seen] == [("p-a", 3000), ("p-b", 5400)]
    assert all(isinstance(e, SessionAttendedV2) for e in seen)


async def test_a_handler_for_v1_no_longer_gets_it_once_there_is_an_upcaster(planning_db):
    async def on_attended_v1(ctx, event) -> None:
        raise AssertionError("read as v2: a v1 handler is not called")

    with session_attended_v2():
        consumer = EventConsumer("planning", planning_db, {SessionAttended: on_attended_v1})
        assert await consumer.handle(incoming(attended_v1("p-a", 50), 0)) is Outcome.IGNORED


async def test_an_unknown_version_is_dead_lettered_with_a_clear_reason(planning_db):
    v3 = {**json.loads(attended_v1("p-c", 50)), "type": "continuum.scheduling.session_attended.v3"}
    with session_attended_v2():
        consumer = EventConsumer("planning", planning_db, {SessionAttendedV2: lambda ctx, event: None})
        assert await consumer.handle(incoming(json.dumps(v3).encode(), 0)) is Outcome.DEAD_LETTERED
    async with planning_db.sessions() as s:
        row = await s.scalar(select(OutboxMessage).where(OutboxMessage.event_type == "dead_letter"))
    assert dict(row.headers())["dlq_reason"].decode() == (
        "unknown event type: continuum.scheduling.session_attended.v3 (this code reads v1, v2)")
