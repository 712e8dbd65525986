"""The idempotent consumer: every incoming message is decoded, validated, handled in
one transaction with the record of its ``(source, id)``, or dead-lettered with the
reason. Nothing escapes: a faust agent that raises skips its message silently.

Every message takes one path, ``_process``, whether it arrives alone or in a batch, and its
result is settled in one place, ``_settle`` (counts, metrics, the log line, waking the relay),
once what it wrote is committed. Alone (``handle``), a message is handled in a transaction of
its own with retries on a transient failure, and a dead letter is stored in another one,
retried until it is. In a batch (``handle_batch``), the batch commits in one transaction,
each message in a savepoint of its own, so a failing message is rolled back and dead-lettered
alone while the others commit; a transient failure (or a clash on the processed-event record)
rolls the batch back and sends the rest through ``handle`` one message at a time. Offsets are
acknowledged by the caller after these return, so only after the commit."""

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    retry_if_exception_type,
    stop_after_attempt,
    stop_never,
    wait_exponential,
)

from services.contracts.base import Event
from services.contracts.catalogue import EVENT_TYPES
from services.contracts.envelope import CloudEvent, InvalidEvent, parse_data, parse_envelope
from services.contracts.upcasting import UPCASTERS

from .database import Database, ProcessedEvent
from .dead_letter_reasons import reason_code
from .logging import get_logger
from .metrics import DEAD_LETTERS, EVENTS_CONSUMED, HANDLER_FAILURES, HANDLER_SECONDS
from .outbox import Outbox
from .tracing import span_continuing

log = get_logger(__name__)


class TransientError(Exception):
    """A failure worth retrying (a dependency briefly down): raise it from a handler."""


class Outcome(StrEnum):
    HANDLED = "handled"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"
    DEAD_LETTERED = "dead_lettered"


@dataclass(frozen=True)
class IncomingMessage:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()

    def header(self, name: str) -> bytes | None:
        return next((v for k, v in self.headers if k == name), None)

    @property
    def known_type(self) -> str:
        """The ``ce_type`` header when it names a catalogued type or one with an upcaster (a
        metric label must not take arbitrary values from a poison message), else ``unknown``."""
        t = (self.header("ce_type") or b"").decode("latin-1")
        return t if t in EVENT_TYPES or t in UPCASTERS else "unknown"


@dataclass
class HandlerContext:
    """What a handler gets besides its event: the transaction, the outbox and the cause."""

    session: AsyncSession
    outbox: Outbox
    cause: CloudEvent


# A registry pairs each event type with the handler of that type (``{PlanCreated: on_plan}``), which a
# type cannot say: the handler's event parameter is Any here, its own annotation narrows it.
Handler = Callable[[HandlerContext, Any], Awaitable[None]]


def _is_transient(exc: BaseException) -> bool:
    return isinstance(exc, TransientError | OperationalError | ConnectionError | TimeoutError)


@dataclass(frozen=True)
class _Processed:
    """What became of one message, to be settled once it is committed."""

    msg: IncomingMessage
    outcome: Outcome
    seconds: float
    rows: int = 0  # outbox rows written (events or its dead letter): the relay is woken for them
    reason: str = ""  # why it was dead-lettered
    handler_failed: bool = False  # dead-lettered because its handler raised
    log_fields: dict[str, str | None] = field(default_factory=dict)  # its trace and event ids


class EventConsumer:
    def __init__(
        self,
        service: str,
        db: Database,
        handlers: dict[type[Event], Handler],
        *,
        topic_prefix: str = "",
        on_commit: Callable[[], None] = lambda: None,
        max_attempts: int = 5,
        max_backoff_s: float = 5.0,
        batch_budget_s: float = 0.25,
        dead_letter_backoff_s: tuple[float, float] = (0.2, 10.0),
    ):
        self.service = service
        self.db = db
        self.handlers = handlers
        self.topic_prefix = topic_prefix
        self.on_commit = on_commit
        self.max_attempts = max_attempts
        self.max_backoff_s = max_backoff_s
        # a batch's transaction commits once it has run this long, so the write lock it holds
        # (SQLite) and the relay waiting behind it are never held up for long
        self.batch_budget_s = batch_budget_s
        # first and longest wait between tries to store a dead letter (tried until it is stored)
        self.dead_letter_backoff_s = dead_letter_backoff_s
        self.counts: Counter[str] = Counter()

    async def handle(self, msg: IncomingMessage) -> Outcome:
        """One message in a transaction of its own. Never raises (but for cancellation)."""
        processed = await self._process(msg, batch=None)
        self._settle([processed])
        return processed.outcome

    async def handle_batch(self, msgs: Sequence[IncomingMessage]) -> list[Outcome]:
        """The messages in order, in as few transactions as the time budget allows (each
        message in a savepoint). Never raises (but for cancellation)."""
        if len(msgs) == 1:  # light traffic: a savepoint would only add two statements
            return [await self.handle(msgs[0])]
        outcomes: list[Outcome] = []
        while len(outcomes) < len(msgs):
            rest = msgs[len(outcomes):]
            try:
                done = await self._process_batch(rest)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - transient (or a race on the record): one at a time
                log.warning("batch.one_at_a_time", error=type(exc).__name__, messages=len(rest))
                outcomes += [await self.handle(m) for m in rest]
                continue
            self._settle(done)
            outcomes += [p.outcome for p in done]
        return outcomes

    async def _process_batch(self, msgs: Sequence[IncomingMessage]) -> list[_Processed]:
        """A prefix of ``msgs`` in one transaction; raises (rolling it all back) on a transient
        failure or a clash on the processed-event record."""
        started = time.perf_counter()
        done: list[_Processed] = []
        async with self.db.transaction() as session:
            for msg in msgs:
                done.append(await self._process(msg, batch=session))
                if time.perf_counter() - started > self.batch_budget_s:
                    break
        return done

    async def _process(self, msg: IncomingMessage, batch: AsyncSession | None) -> _Processed:
        """The one path of a message: decoded, validated and handled, or dead-lettered. Alone
        (``batch`` None): in a transaction of its own with retries, its dead letter stored in
        another; never raises (but for cancellation). In a batch: in a savepoint of the batch's
        transaction, its dead letter added to it; a transient failure or a clash on the record
        is raised, for the batch to be rolled back and re-run one message at a time."""
        started = time.perf_counter()
        with span_continuing(msg.header("traceparent"), event_type=msg.known_type) as span:
            log_fields: dict[str, str | None] = {"trace_id": span.trace_id, "span_id": span.span_id,
                                                 "event_type": msg.known_type}
            try:
                ce = parse_envelope(msg.value)
                log_fields |= {"correlation_id": ce.correlationid, "event_id": ce.id, "event_type": ce.type,
                               "participant_id": ce.subject}
                with structlog.contextvars.bound_contextvars(**log_fields):
                    outcome, rows = await self._apply(ce, msg.known_type, batch)
                return _Processed(msg, outcome, time.perf_counter() - started, rows, log_fields=log_fields)
            except asyncio.CancelledError:
                raise
            except InvalidEvent as exc:
                reason, handler_failed = exc.reason, False
            except Exception as exc:  # a handler bug must not lose the message
                if batch is not None and (_is_transient(exc) or isinstance(exc, IntegrityError)):
                    raise  # retried one at a time; a clash on the record is sorted out there
                reason, handler_failed = f"handler failed: {type(exc).__name__}: {exc}"[:1000], True
            if batch is None:
                await self._store_dead_letter(msg, reason)
            else:
                self._add_dead_letter(batch, msg, reason)
            return _Processed(msg, Outcome.DEAD_LETTERED, time.perf_counter() - started, 1, reason, handler_failed,
                              log_fields)

    async def _apply(self, ce: CloudEvent, event_type: str, batch: AsyncSession | None) -> tuple[Outcome, int]:
        """The handler's effects and the record of the event, unless recorded already; with the
        number of outbox rows written."""
        event = parse_data(ce)  # validate every event, handled or not; an older version is upcast
        handler = self.handlers.get(type(event))
        if handler is None:
            return Outcome.IGNORED, 0
        if batch is not None:
            # a failure rolls back this message's effects only; a redelivery earlier in the batch
            # is seen as recorded (the savepoint flushed it)
            async with batch.begin_nested():
                return await self._record_once(batch, ce, event, handler)
        async for attempt in AsyncRetrying(
            retry=retry_if_exception(_is_transient),
            stop=stop_after_attempt(self.max_attempts),
            wait=wait_exponential(multiplier=0.1, max=self.max_backoff_s),
            before_sleep=lambda _: HANDLER_FAILURES.labels(self.service, event_type, "transient").inc(),
            reraise=True,
        ):
            with attempt:
                applied = await self._apply_alone(ce, event, handler)
        return applied

    async def _apply_alone(self, ce: CloudEvent, event: Event, handler: Handler) -> tuple[Outcome, int]:
        try:
            async with self.db.transaction(ce.subject) as session:
                return await self._record_once(session, ce, event, handler)
        except IntegrityError:
            if await self._already_processed(ce):
                return Outcome.DUPLICATE, 0  # another worker recorded the same (source, id) first
            raise  # a constraint the handler broke: dead-lettered with the reason, not hidden

    async def _record_once(self, session: AsyncSession, ce: CloudEvent, event: Event,
                           handler: Handler) -> tuple[Outcome, int]:
        """The handler's effects and the record of the event's ``(source, id)``, unless it is
        recorded already; with the number of outbox rows written."""
        seen = await session.scalar(select(ProcessedEvent.event_id).where(
            ProcessedEvent.source == ce.source, ProcessedEvent.event_id == ce.id))
        if seen is not None:
            return Outcome.DUPLICATE, 0
        outbox = Outbox(session, self.service, self.topic_prefix)
        await handler(HandlerContext(session, outbox, ce), event)
        session.add(ProcessedEvent(source=ce.source, event_id=ce.id, event_type=ce.type))
        return Outcome.HANDLED, outbox.rows

    async def _already_processed(self, ce: CloudEvent) -> bool:
        async with self.db.sessions() as session:
            return await session.scalar(select(ProcessedEvent.event_id).where(
                ProcessedEvent.source == ce.source, ProcessedEvent.event_id == ce.id)) is not None

    def _add_dead_letter(self, session: AsyncSession, msg: IncomingMessage, reason: str) -> None:
        Outbox(session, self.service, self.topic_prefix).add_dead_letter(
            reason=reason, topic=msg.topic, partition=msg.partition, offset=msg.offset,
            key=msg.key, value=msg.value, headers=list(msg.headers))

    async def _store_dead_letter(self, msg: IncomingMessage, reason: str) -> None:
        """In a transaction of its own, tried until it is stored: the message is only let go
        (its offset acknowledged) once its dead letter is."""
        first, longest = self.dead_letter_backoff_s

        def failed(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            log.error("dead_letter.store_failed", error=type(exc).__name__,
                      retry_in_s=round(state.next_action.sleep if state.next_action else 0, 3))

        async for attempt in AsyncRetrying(
            retry=retry_if_exception_type(Exception),  # never CancelledError, a BaseException
            stop=stop_never,
            wait=wait_exponential(multiplier=first, max=longest),
            before_sleep=failed,
            reraise=True,
        ):
            with attempt:
                async with self.db.transaction() as session:
                    self._add_dead_letter(session, msg, reason)

    def _settle(self, processed: Sequence[_Processed]) -> None:
        """The one place a message's outcome is settled, once what it wrote is committed:
        the relay woken, the log line, the counts and the metrics."""
        if any(p.rows for p in processed):
            self.on_commit()
        for p in processed:
            with structlog.contextvars.bound_contextvars(**p.log_fields):
                if p.outcome is Outcome.DEAD_LETTERED:
                    log.warning("event.dead_lettered", topic=p.msg.topic, partition=p.msg.partition,
                                offset=p.msg.offset, reason=p.reason[:300])
                    DEAD_LETTERS.labels(self.service, reason_code(p.reason)).inc()
                elif p.outcome is not Outcome.IGNORED:  # one it does not handle is only validated
                    log.info("event.consumed", outcome=str(p.outcome))
            if p.handler_failed:
                HANDLER_FAILURES.labels(self.service, p.msg.known_type, "permanent").inc()
            self.counts[p.outcome] += 1
            EVENTS_CONSUMED.labels(self.service, p.msg.known_type, str(p.outcome)).inc()
            HANDLER_SECONDS.labels(self.service, p.msg.known_type).observe(p.seconds)
