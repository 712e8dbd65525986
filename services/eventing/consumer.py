"""The idempotent consumer: every incoming message is decoded, validated, handled in
one transaction with the record of its ``(source, id)``, or dead-lettered with the
reason. Nothing escapes: a faust agent that raises skips its message silently."""

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
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
    ):
        self.service = service
        self.db = db
        self.handlers = handlers
        self.topic_prefix = topic_prefix
        self.on_commit = on_commit
        self.max_attempts = max_attempts
        self.max_backoff_s = max_backoff_s
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

    async def _handle_event(self, ce: CloudEvent, event_type: str) -> Outcome:
        model = model_for(ce.type)
        if model is None:
            raise InvalidEvent(f"unknown event type: {ce.type}")
        handler = self.handlers.get(model)
        event = parse_data(ce)  # validate every event, handled or not
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
                seen = await session.scalar(
                    select(ProcessedEvent.event_id).where(
                        ProcessedEvent.source == ce.source, ProcessedEvent.event_id == ce.id
                    )
                )
                if seen is not None:
                    return Outcome.DUPLICATE
                outbox = Outbox(session, self.service, self.topic_prefix)
                await handler(HandlerContext(session, outbox, ce), event)
                session.add(ProcessedEvent(source=ce.source, event_id=ce.id, event_type=ce.type))
        except IntegrityError:
            if await self._already_processed(ce):
                return Outcome.DUPLICATE  # another worker recorded the same (source, id) first
            raise  # a constraint the handler broke: dead-lettered with the reason, not hidden
        self.on_commit()
        return Outcome.HANDLED

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
