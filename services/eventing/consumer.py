"""The idempotent consumer: every incoming message is decoded, validated, handled in
one transaction with the record of its ``(source, id)``, or dead-lettered with the
reason. Nothing escapes: a faust agent that raises skips its message silently.

The agent hands over what has arrived as a batch (``handle_batch``): the batch commits in
one transaction, each message in a savepoint of its own, so a failing message is rolled
back and dead-lettered alone while the others commit; a transient failure sends the batch
through ``handle`` one message at a time, with retries."""

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

import structlog
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential

from services.contracts.base import Event
from services.contracts.catalogue import EVENT_TYPES, model_for
from services.contracts.envelope import CloudEvent, InvalidEvent, parse_data, parse_envelope

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
        """The ``ce_type`` header when it names a catalogued type (a metric label must not
        take arbitrary values from a poison message), else ``unknown``."""
        t = (self.header("ce_type") or b"").decode("latin-1")
        return t if t in EVENT_TYPES else "unknown"


@dataclass
class HandlerContext:
    """What a handler gets besides its event: the transaction, the outbox and the cause."""

    session: AsyncSession
    outbox: Outbox
    cause: CloudEvent


Handler = Callable[[HandlerContext, Event], Awaitable[None]]


def _is_transient(exc: BaseException) -> bool:
    return isinstance(exc, TransientError | OperationalError | ConnectionError | TimeoutError)


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
        self.counts: Counter[str] = Counter()

    async def handle(self, msg: IncomingMessage) -> Outcome:
        """Never raises (but for cancellation). Runs in a span continuing the event's trace,
        with its ids bound to every log line."""
        event_type, started = msg.known_type, time.perf_counter()
        with span_continuing(msg.header("traceparent"), event_type=event_type):
            try:
                outcome = await self._handle(msg)
            except asyncio.CancelledError:
                raise
            except InvalidEvent as exc:
                outcome = await self._dead_letter(msg, exc.reason)
            except Exception as exc:  # noqa: BLE001 - a handler bug must not lose the message
                HANDLER_FAILURES.labels(self.service, event_type, "permanent").inc()
                outcome = await self._dead_letter(
                    msg, f"handler failed: {type(exc).__name__}: {exc}"[:1000])
        self.counts[outcome] += 1
        EVENTS_CONSUMED.labels(self.service, event_type, str(outcome)).inc()
        HANDLER_SECONDS.labels(self.service, event_type).observe(time.perf_counter() - started)
        return outcome

    async def _handle(self, msg: IncomingMessage) -> Outcome:
        ce = parse_envelope(msg.value)
        with structlog.contextvars.bound_contextvars(
                correlation_id=ce.correlationid, event_id=ce.id, event_type=ce.type,
                participant_id=ce.subject):
            return await self._handle_event(ce, msg.known_type)

    def _handler_for(self, ce: CloudEvent) -> tuple[Event, Handler | None]:
        model = model_for(ce.type)
        if model is None:
            raise InvalidEvent(f"unknown event type: {ce.type}")
        event = parse_data(ce)  # validate every event, handled or not
        return event, self.handlers.get(model)

    async def _handle_event(self, ce: CloudEvent, event_type: str) -> Outcome:
        event, handler = self._handler_for(ce)
        if handler is None:
            return Outcome.IGNORED
        async for attempt in AsyncRetrying(
            retry=retry_if_exception(_is_transient),
            stop=stop_after_attempt(self.max_attempts),
            wait=wait_exponential(multiplier=0.1, max=self.max_backoff_s),
            before_sleep=lambda _: HANDLER_FAILURES.labels(self.service, event_type, "transient").inc(),
            reraise=True,
        ):
            with attempt:
                outcome = await self._apply_once(ce, event, handler)
        log.info("event.consumed", outcome=str(outcome))
        return outcome

    async def _apply_once(self, ce: CloudEvent, event: Event, handler: Handler) -> Outcome:
        try:
            async with self.db.transaction(ce.subject) as session:
                outcome, rows = await self._record_once(session, ce, event, handler)
        except IntegrityError:
            if await self._already_processed(ce):
                return Outcome.DUPLICATE  # another worker recorded the same (source, id) first
            raise  # a constraint the handler broke: dead-lettered with the reason, not hidden
        if rows:
            self.on_commit()
        return outcome

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

    async def handle_batch(self, msgs: Sequence[IncomingMessage]) -> list[Outcome]:
        """The messages in order, in as few transactions as the time budget allows (each
        message in a savepoint). Never raises (but for cancellation)."""
        if len(msgs) == 1:  # light traffic: a savepoint would only add two statements
            return [await self.handle(msgs[0])]
        outcomes: list[Outcome] = []
        while len(outcomes) < len(msgs):
            rest = msgs[len(outcomes):]
            try:
                outcomes += await self._apply_batch(rest)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - transient (or a race on the record): one at a time
                log.warning("batch.one_at_a_time", error=type(exc).__name__, messages=len(rest))
                outcomes += [await self.handle(m) for m in rest]
        return outcomes

    async def _apply_batch(self, msgs: Sequence[IncomingMessage]) -> list[Outcome]:
        """A prefix of ``msgs`` in one transaction; raises (rolling it all back) on a transient
        failure or a clash on the processed-event record."""
        started = time.perf_counter()
        done: list[_Applied] = []
        async with self.db.transaction() as session:
            dead_letters = Outbox(session, self.service, self.topic_prefix)
            for msg in msgs:
                done.append(await self._apply_in_savepoint(session, dead_letters, msg))
                if time.perf_counter() - started > self.batch_budget_s:
                    break
        if any(a.rows for a in done):
            self.on_commit()
        for a in done:  # counted once committed: a batch rolled back is counted by ``handle``
            if a.outcome is Outcome.DEAD_LETTERED:
                log.warning("event.dead_lettered", topic=a.msg.topic, partition=a.msg.partition,
                            offset=a.msg.offset, reason=a.reason[:300])
                DEAD_LETTERS.labels(self.service, reason_code(a.reason)).inc()
            if a.handler_failed:
                HANDLER_FAILURES.labels(self.service, a.msg.known_type, "permanent").inc()
            self.counts[a.outcome] += 1
            EVENTS_CONSUMED.labels(self.service, a.msg.known_type, str(a.outcome)).inc()
            HANDLER_SECONDS.labels(self.service, a.msg.known_type).observe(a.seconds)
        return [a.outcome for a in done]

    async def _apply_in_savepoint(self, session: AsyncSession, dead_letters: Outbox,
                                  msg: IncomingMessage) -> "_Applied":
        started = time.perf_counter()
        with span_continuing(msg.header("traceparent"), event_type=msg.known_type):
            try:
                ce = parse_envelope(msg.value)
                with structlog.contextvars.bound_contextvars(
                        correlation_id=ce.correlationid, event_id=ce.id, event_type=ce.type,
                        participant_id=ce.subject):
                    outcome, rows = await self._apply_event(session, ce)
                    log.info("event.consumed", outcome=str(outcome))
                return _Applied(msg, outcome, time.perf_counter() - started, rows=rows)
            except InvalidEvent as exc:
                reason, handler_failed = exc.reason, False
            except Exception as exc:
                if _is_transient(exc) or isinstance(exc, IntegrityError):
                    raise  # retried one at a time; a clash on the record is sorted out there
                reason, handler_failed = f"handler failed: {type(exc).__name__}: {exc}"[:1000], True
            dead_letters.add_dead_letter(reason=reason, topic=msg.topic, partition=msg.partition,
                                         offset=msg.offset, key=msg.key, value=msg.value, headers=list(msg.headers))
            return _Applied(msg, Outcome.DEAD_LETTERED, time.perf_counter() - started, 1, reason, handler_failed)

    async def _apply_event(self, session: AsyncSession, ce: CloudEvent) -> tuple[Outcome, int]:
        event, handler = self._handler_for(ce)
        if handler is None:
            return Outcome.IGNORED, 0
        # a failure rolls back this message's effects only; a redelivery earlier in the batch
        # is seen as recorded (the savepoint flushed it)
        async with session.begin_nested():
            return await self._record_once(session, ce, event, handler)

    async def _already_processed(self, ce: CloudEvent) -> bool:
        async with self.db.sessions() as session:
            return await session.scalar(select(ProcessedEvent.event_id).where(
                ProcessedEvent.source == ce.source, ProcessedEvent.event_id == ce.id)) is not None


    async def _dead_letter(self, msg: IncomingMessage, reason: str) -> Outcome:
        log.warning("event.dead_lettered", topic=msg.topic, partition=msg.partition,
                    offset=msg.offset, reason=reason[:300])
        DEAD_LETTERS.labels(self.service, reason_code(reason)).inc()
        delay = 0.2
        while True:  # the message is only let go once its dead letter is stored
            try:
                async with self.db.transaction() as session:
                    Outbox(session, self.service, self.topic_prefix).add_dead_letter(
                        reason=reason, topic=msg.topic, partition=msg.partition, offset=msg.offset,
                        key=msg.key, value=msg.value, headers=list(msg.headers),
                    )
                self.on_commit()
                return Outcome.DEAD_LETTERED
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001
                log.error("dead_letter.store_failed", error=type(exc).__name__, retry_in_s=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10)


@dataclass(frozen=True)
class _Applied:
    msg: IncomingMessage
    outcome: Outcome
    seconds: float
    rows: int = 0  # outbox rows written
    reason: str = ""
    handler_failed: bool = False
