"""Writing events to the outbox inside the caller's transaction."""

from dataclasses import replace
from datetime import UTC, datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from services.contracts.base import Event
from services.contracts.envelope import CloudEvent, EventContext, to_record, wrap
from services.contracts.topics import dead_letter_topic, events_topic

from .database import OutboxMessage
from .tracing import current_span, new_trace, trace_id_of


class Outbox:
    """The service's outbox, bound to one transaction's session."""

    def __init__(self, session: AsyncSession, service: str, topic_prefix: str = ""):
        self.session = session
        self.service = service
        self.topic_prefix = topic_prefix
        self.written: list[CloudEvent] = []
        self.rows = 0  # events and dead letters added: the relay is woken only when there are some

    def add(self, event: Event, ctx: EventContext) -> CloudEvent:
        if event.producer != self.service:
            raise ValueError(f"{self.service} may not publish {event.event_type}")
        ce = wrap(event, replace(ctx, traceparent=_traceparent_for(ctx)))
        # later log lines of this command or handler carry the correlation id too
        structlog.contextvars.bind_contextvars(correlation_id=ce.correlationid)
        rec = to_record(ce)
        self.session.add(
            OutboxMessage(
                topic=events_topic(self.service, self.topic_prefix),
                key=rec.key,
                value=rec.value,
                headers_json=OutboxMessage.encode_headers(rec.headers),
                event_id=ce.id,
                event_type=ce.type,
            )
        )
        self.written.append(ce)
        self.rows += 1
        return ce

    def add_dead_letter(
        self,
        *,
        reason: str,
        topic: str,
        partition: int,
        offset: int,
        key: bytes | None,
        value: bytes | None,
        headers: list[tuple[str, bytes]],
    ) -> None:
        """The original bytes and headers, plus why and where from."""
        dlq_headers = [h for h in headers if not h[0].startswith("dlq_")] + [
            ("dlq_reason", reason[:2000].encode()),
            ("dlq_topic", topic.encode()),
            ("dlq_partition", str(partition).encode()),
            ("dlq_offset", str(offset).encode()),
            ("dlq_consumer", self.service.encode()),
            ("dlq_failed_at", datetime.now(UTC).isoformat().encode()),
        ]
        self.session.add(
            OutboxMessage(
                topic=dead_letter_topic(self.service, self.topic_prefix),
                key=key,
                value=value,
                headers_json=OutboxMessage.encode_headers(dlq_headers),
                event_type="dead_letter",
            )
        )
        self.rows += 1


def _traceparent_for(ctx: EventContext) -> str:
    """The effect continues the current span (the API command or the handling of its cause);
    a context that names another trace keeps it; with neither, a new trace starts."""
    span = current_span()
    if span and (ctx.traceparent is None or trace_id_of(ctx.traceparent) == span.trace_id):
        return span.traceparent
    return ctx.traceparent or new_trace().traceparent
