"""Aftercare's dispatcher on a real SQLite store (and a real local SMTP server for reminders):
the consumer's unit of work only writes rows; the dispatcher makes the flow runs from what
committed, publishes FollowUpScheduled with their ids, cancels what was cancelled (also when
the cancellation comes while it is scheduling), and sends reminders, retrying a mail server
that refuses. And the store itself: a read answers while a writer holds the store and others
queue behind it (the stall of issue 13).

Prefect is the port here (``RecordingScheduler``, which hands out run ids and records the
calls): the real Prefect server is exercised end to end in tests/e2e/test_aftercare_follow_ups.py."""

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import ClassVar

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message
from sqlalchemy import select

from deploy.processes import free_port
from services.aftercare.dispatcher import FollowUpDispatcher, reminder_retry_delay
from services.aftercare.handlers import Aftercare
from services.aftercare.notifications import FileNotifier, ReminderNotifier, SmtpSender
from services.aftercare.settings import AftercareSettings
from services.aftercare.tables import AftercareBase, FollowUp, ReminderContact
from services.contracts.codes import LevelOfCare
from services.contracts.envelope import EventContext, to_record, wrap
from services.contracts.events_planning import ReadyForStepDown
from services.eventing.consumer import IncomingMessage, Outcome
from services.eventing.database import OutboxMessage
from services.eventing.settings import ContinuumSettings, KafkaSettings, ServiceSettings
from services.host.runtime import ServiceRuntime

pytestmark = pytest.mark.integration


class RecordingScheduler:
    """The follow-up scheduling port: run ids by idempotency key (as Prefect gives the same run
    for the same key), every call recorded; ``during_schedule`` runs inside the first call."""

    def __init__(self):
        self.runs: dict[tuple[str, str], str] = {}
        self.cancelled: list[str] = []
        self.during_schedule = None

    async def schedule(self, *, follow_up_id, participant_id, due_at, step="open", tenant_id=None,
                       program_id=None) -> str:
        if self.during_schedule:
            hook, self.during_schedule = self.during_schedule, None
            await hook()
        return self.runs.setdefault((follow_up_id, step), f"run-{len(self.runs) + 1}")

    async def cancel(self, flow_run_id: str) -> None:
        self.cancelled.append(flow_run_id)

    async def close(self) -> None:
        pass


@pytest.fixture
async def runtime(sqlite_database):
    db = await sqlite_database("aftercare", AftercareBase.metadata)
    aftercare = Aftercare(settings=AftercareSettings(day_length_seconds=2, grace_days=15))
    return ServiceRuntime("aftercare", db, ContinuumSettings(), KafkaSettings(), ServiceSettings(),
                          aftercare.handlers())


def step_down(pid: str) -> IncomingMessage:
    event = ReadyForStepDown(
        participant_id=pid, plan_id=f"plan-{pid}", episode_id=f"ep-{pid}",
        current_level_of_care=LevelOfCare.INTENSIVE_OUTPATIENT, recommended_level_of_care=LevelOfCare.OUTPATIENT,
        sessions_attended=12, hours_attended=30, reason_codes=("response",),
        planned_discharge_date=date(2026, 12, 2), declared_at=datetime.now(UTC))
    record = to_record(wrap(event, EventContext.new("tenant-it", "adult-mh")))
    return IncomingMessage("continuum.planning.events", 0, 0, record.key, record.value, tuple(record.headers))


async def outbox_types(rt: ServiceRuntime) -> list[str]:
    async with rt.db.sessions() as s:
        return [t.rsplit(".", 2)[-2] for t in (await s.scalars(select(OutboxMessage.event_type)
                                                              .order_by(OutboxMessage.id))).all()]


async def follow_ups(rt: ServiceRuntime, pid: str) -> list[FollowUp]:
    async with rt.db.sessions() as s:
        return list((await s.scalars(select(FollowUp).where(FollowUp.participant_id == pid)
                                     .order_by(FollowUp.due_at))).all())


def dispatcher(rt: ServiceRuntime, scheduler: RecordingScheduler, tmp_path, smtp_port: int | None = None,
               clock=lambda: datetime.now(UTC)) -> FollowUpDispatcher:
    smtp = (SmtpSender("127.0.0.1", smtp_port, "aftercare@continuum.test", timeout_s=2, security="plain")
            if smtp_port else None)  # a local test server without TLS (as development allows on loopback)
    return FollowUpDispatcher(rt, scheduler, ReminderNotifier(FileNotifier(tmp_path / "n.jsonl"), smtp),
                              clock=clock)


async def test_the_step_down_only_writes_rows_and_the_dispatcher_schedules_them_once(runtime, tmp_path):
    assert await runtime.consumer.handle(step_down("p-1")) is Outcome.HANDLED
    rows = await follow_ups(runtime, "p-1")
    assert [(f.runs, f.flow_run_id) for f in rows] == [("to_schedule", None)] * 4
    assert "follow_up_scheduled" not in await outbox_types(runtime), "nothing is scheduled before the runs exist"

    scheduler = RecordingScheduler()
    d = dispatcher(runtime, scheduler, tmp_path)
    assert await d.dispatch_once() == 4
    rows = await follow_ups(runtime, "p-1")
    assert {f.runs for f in rows} == {"scheduled"} and all(f.flow_run_id and f.grace_flow_run_id for f in rows)
    assert len(scheduler.runs) == 8
    assert (await outbox_types(runtime)).count("follow_up_scheduled") == 4
    assert await d.dispatch_once() == 0 and len(scheduler.runs) == 8, "a second pass makes nothing"


async def test_a_cancellation_while_the_runs_are_made_cancels_them_and_publishes_no_schedule(runtime, tmp_path):
    await runtime.consumer.handle(step_down("p-2"))
    scheduler = RecordingScheduler()
    d = dispatcher(runtime, scheduler, tmp_path)

    async def readmitted_meanwhile():  # what the readmission handler does: rows only
        async with runtime.db.transaction() as s:
            for fu in (await s.scalars(select(FollowUp).where(FollowUp.participant_id == "p-2"))).all():
                fu.status, fu.runs = "cancelled", "to_cancel"

    scheduler.during_schedule = readmitted_meanwhile
    await d.dispatch_once()
    rows = await follow_ups(runtime, "p-2")
    assert {f.runs for f in rows} == {"cancelled"}
    assert sorted(scheduler.cancelled) == sorted(scheduler.runs.values()), "every run made was cancelled"
    assert "follow_up_scheduled" not in await outbox_types(runtime)


async def test_a_refused_reminder_is_tried_again_later_and_sent_once(runtime, tmp_path):
    await runtime.consumer.handle(step_down("p-3"))
    async with runtime.db.transaction() as s:
        s.add(ReminderContact(participant_id="p-3", email="p3@example.test", tenant_id="tenant-it"))
    now = [datetime.now(UTC)]
    port = free_port()
    d = dispatcher(runtime, RecordingScheduler(), tmp_path, smtp_port=port, clock=lambda: now[0])
    await d.dispatch_once()
    d7 = (await follow_ups(runtime, "p-3"))[0]
    aftercare = Aftercare(settings=AftercareSettings(), clock=lambda: now[0])
    async with runtime.db.transaction() as s:  # the flow run's open call: asks for the reminder
        opened = await aftercare.open_check_in(s, d7.id, as_of=now[0])
        assert (opened.status, opened.reminder) == ("open", "to_send")

    assert await d.send_reminders() == 1  # no mail server yet: refused, kept for later
    [row] = [f for f in await follow_ups(runtime, "p-3") if f.id == d7.id]
    assert (row.reminder, row.reminder_attempts, row.reminder_channel) == ("to_send", 1, None)
    assert row.reminder_next_at == now[0] + reminder_retry_delay(1)
    assert await d.send_reminders() == 0, "not before its retry time"

    class Collect(Message):
        messages: ClassVar[list] = []

        def handle_message(self, message):
            self.messages.append(message)

    controller = Controller(Collect(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        now[0] += reminder_retry_delay(1)
        assert await d.send_reminders() == 1
        assert await d.send_reminders() == 0, "sent once"
    finally:
        controller.stop()
    [row] = [f for f in await follow_ups(runtime, "p-3") if f.id == d7.id]
    assert (row.reminder, row.reminder_channel) == ("sent", "email")
    assert [m["To"] for m in Collect.messages] == ["p3@example.test"]
    assert reminder_retry_delay(10) == timedelta(minutes=10), "capped"


async def test_a_read_answers_while_a_writer_holds_the_store_and_others_queue(runtime):
    db = runtime.db
    holding, release = asyncio.Event(), asyncio.Event()

    async def slow_writer():  # as aftercare's consumer was, waiting on Prefect inside its transaction
        async with db.transaction() as s:
            s.add(OutboxMessage(topic="t", event_type="x"))
            await s.flush()
            holding.set()
            await release.wait()

    async def queued_writer():
        async with db.transaction() as s:
            s.add(OutboxMessage(topic="t", event_type="y"))

    slow = asyncio.create_task(slow_writer())
    await holding.wait()
    queued = [asyncio.create_task(queued_writer()) for _ in range(30)]  # more than the pool's 15 connections
    await asyncio.sleep(0.2)
    async with db.sessions() as s:  # would wait for a pool slot (30 s) before the read engine of its own
        read = await asyncio.wait_for(s.scalar(select(OutboxMessage.id).limit(1)), 10)
    assert read is None, "the uncommitted write is not seen"
    assert not slow.done() and not any(q.done() for q in queued), "the read did not wait for the writers"
    release.set()
    await asyncio.gather(slow, *queued)
    async with db.sessions() as s:
        assert len((await s.scalars(select(OutboxMessage.id))).all()) == 31
    assert db.write_lock_waits.count == 31
