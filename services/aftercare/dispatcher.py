"""Aftercare's dispatcher: does what the handlers and routes asked for, from committed rows,
outside any database transaction (like the outbox relay):

- a follow-up ``to_schedule`` gets its two flow runs on Prefect (open at the due time, grace
  check at the end of the window), then FollowUpScheduled is published with their ids;
- a follow-up ``to_cancel`` has its runs cancelled (a run that fires anyway finds the
  follow-up cancelled and does nothing);
- an open check-in's reminder ``to_send`` is sent (email when the participant gave an
  address, else the file channel); a mail server that does not take it is tried again later.

Each remote call has a deadline; a failure is retried with exponential backoff and jitter
(tenacity). Prefect runs are idempotent by key, so a crash between a call and its write-back
repeats nothing. One worker process at a time dispatches (a lease in the store)."""

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from tenacity import AsyncRetrying, RetryCallState, wait_exponential_jitter

from services.contracts.envelope import EventContext
from services.contracts.events_aftercare import FollowUpScheduled
from services.eventing.lease import Lease
from services.eventing.logging import get_logger
from services.host.runtime import ServiceRuntime
from workflows.follow_up import STEP_GRACE_CHECK, STEP_OPEN

from .follow_up_scheduler import FollowUpScheduler
from .notifications import Notifier, Reminder, ReminderNotSent
from .tables import FollowUp, ReminderContact

log = get_logger(__name__)

REMINDER_RETRY_MAX = timedelta(minutes=10)


def reminder_retry_delay(attempts: int) -> timedelta:
    """After the ``attempts``-th refusal by the mail server: 5 s, 10 s, 20 s ... at most 10 min."""
    return min(timedelta(seconds=5 * 2 ** max(attempts - 1, 0)), REMINDER_RETRY_MAX)


class FollowUpDispatcher:
    def __init__(self, rt: ServiceRuntime, scheduler: FollowUpScheduler, notifier: Notifier, *,
                 batch_size: int = 20, idle_poll_s: float = 0.5,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self.rt, self.scheduler, self.notifier = rt, scheduler, notifier
        self.batch_size, self.idle_poll_s, self.clock = batch_size, idle_poll_s, clock
        self.lease = Lease(rt.db, "aftercare-dispatcher")
        self.done = {"scheduled": 0, "cancelled": 0, "reminded": 0}

    async def run(self) -> None:
        while True:
            async for attempt in AsyncRetrying(wait=wait_exponential_jitter(initial=0.5, max=30),
                                               before_sleep=_log_retry):
                with attempt:
                    busy = await self.dispatch_once()
            if busy < self.batch_size:
                await asyncio.sleep(self.idle_poll_s)

    async def stop(self) -> None:
        try:
            await self.lease.release()
        finally:
            await self.scheduler.close()

    async def dispatch_once(self) -> int:
        """One pass; the number of rows it dealt with (raises on a failure, after writing back
        what succeeded before it)."""
        if not await self.lease.hold():
            return 0
        return await self.schedule_runs() + await self.cancel_runs() + await self.send_reminders()

    async def _pending(self, *where) -> list[FollowUp]:
        async with self.rt.db.sessions() as s:
            return list((await s.scalars(select(FollowUp).where(*where).order_by(FollowUp.due_at)
                                         .limit(self.batch_size))).all())

    async def schedule_runs(self) -> int:
        made: list[tuple[FollowUp, str, str]] = []
        try:
            for fu in await self._pending(FollowUp.runs == "to_schedule"):
                scope = {"follow_up_id": fu.id, "participant_id": fu.participant_id,
                         "tenant_id": fu.tenant_id, "program_id": fu.program_id}
                opening = await self.scheduler.schedule(due_at=fu.due_at, step=STEP_OPEN, **scope)
                grace = await self.scheduler.schedule(due_at=fu.grace_until or fu.due_at,
                                                      step=STEP_GRACE_CHECK, **scope)
                made.append((fu, opening, grace))
        finally:
            if made:
                await self._record_runs(made)
        return len(made)

    async def _record_runs(self, made: list[tuple[FollowUp, str, str]]) -> None:
        async with self.rt.unit_of_work() as uow:
            for seen, opening, grace in made:
                fu = await uow.session.get(FollowUp, seen.id)
                assert fu is not None  # read above; follow-ups are never deleted
                fu.flow_run_id, fu.grace_flow_run_id = opening, grace
                if fu.runs != "to_schedule":  # cancelled meanwhile: the next pass cancels these runs
                    continue
                fu.runs = "scheduled"
                uow.outbox.add(FollowUpScheduled(
                    participant_id=fu.participant_id, follow_up_id=fu.id, episode_id=fu.episode_id,
                    day_offset=fu.day_offset, due_at=fu.due_at, flow_run_id=opening,
                    grace_check_flow_run_id=grace),
                    EventContext(fu.tenant_id, fu.program_id, correlation_id=fu.correlation_id or fu.id,
                                 causation_id=fu.causation_id))
        self.done["scheduled"] += len(made)

    async def cancel_runs(self) -> int:
        cancelled: list[str] = []
        try:
            for fu in await self._pending(FollowUp.runs == "to_cancel"):
                for run_id in (fu.flow_run_id, fu.grace_flow_run_id):
                    if run_id:
                        await self.scheduler.cancel(run_id)
                cancelled.append(fu.id)
        finally:
            if cancelled:
                async with self.rt.db.transaction() as s:
                    for fu in (await s.scalars(select(FollowUp).where(FollowUp.id.in_(cancelled)))).all():
                        fu.runs = "cancelled"
                self.done["cancelled"] += len(cancelled)
        return len(cancelled)

    async def send_reminders(self) -> int:
        # an answer that came before the reminder went out needs none
        due = await self._pending(FollowUp.reminder == "to_send", FollowUp.reminder_next_at <= self.clock(),
                                  FollowUp.status.in_(("open", "missed")))
        async with self.rt.db.sessions() as s:  # the batch's addresses in one read
            emails = dict((await s.execute(select(ReminderContact.participant_id, ReminderContact.email).where(
                ReminderContact.participant_id.in_({fu.participant_id for fu in due})))).tuples().all()) if due else {}
        for fu in due:
            reminder = Reminder(fu.participant_id, fu.id, fu.due_at, emails.get(fu.participant_id))
            try:
                channel = await self.notifier.send_check_in_reminder(reminder)
            except ReminderNotSent as exc:
                await self._reminder_refused(fu.id, str(exc))
                continue
            async with self.rt.db.transaction(fu.participant_id) as s:
                row = await s.get(FollowUp, fu.id)
                assert row is not None  # read above; follow-ups are never deleted
                row.reminder, row.reminder_channel = "sent", channel
            self.done["reminded"] += 1
            log.info("follow_up.reminded", follow_up_id=fu.id, participant_id=fu.participant_id, channel=channel)
        return len(due)

    async def _reminder_refused(self, follow_up_id: str, reason: str) -> None:
        async with self.rt.db.transaction() as s:
            row = await s.get(FollowUp, follow_up_id)
            assert row is not None  # read above; follow-ups are never deleted
            row.reminder_attempts += 1
            retry_at = self.clock() + reminder_retry_delay(row.reminder_attempts)
            row.reminder_next_at = retry_at
        log.warning("follow_up.reminder_refused", follow_up_id=follow_up_id, attempts=row.reminder_attempts,
                    retry_at=retry_at.isoformat(), reason=reason[:200])


def _log_retry(state: RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome else None
    log.warning("dispatcher.failed", error=type(exc).__name__, detail=str(exc)[:200],
                retry_in_s=round(state.next_action.sleep, 2) if state.next_action else None)
