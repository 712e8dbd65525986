"""W3C trace context (``traceparent``) carried from cause to effect, kept tiny on purpose:
a version-00 header ``00-<trace id>-<span id>-<flags>``. An API command starts a trace
(or continues the caller's); handling an event continues the trace of its cause; every
event written to the outbox carries the current span as its ``traceparent``. Any
OpenTelemetry-instrumented consumer can read and continue it."""

import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import structlog

_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


@dataclass(frozen=True)
class SpanContext:
    trace_id: str
    span_id: str
    sampled: bool = True

    @property
    def traceparent(self) -> str:
        return f"00-{self.trace_id}-{self.span_id}-{'01' if self.sampled else '00'}"

    def child(self) -> "SpanContext":
        return SpanContext(self.trace_id, secrets.token_hex(8), self.sampled)


def new_trace() -> SpanContext:
    return SpanContext(secrets.token_hex(16), secrets.token_hex(8))


def parse_traceparent(value: str | bytes | None) -> SpanContext | None:
    """The caller's span, or None when absent or malformed (all-zero ids are invalid)."""
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    m = _TRACEPARENT.match((value or "").strip().lower())
    if not m or set(m.group(1)) == {"0"} or set(m.group(2)) == {"0"}:
        return None
    return SpanContext(m.group(1), m.group(2), m.group(3) == "01")


def trace_id_of(traceparent: str | None) -> str | None:
    span = parse_traceparent(traceparent)
    return span.trace_id if span else None


_current: ContextVar[SpanContext | None] = ContextVar("continuum_span", default=None)


def current_span() -> SpanContext | None:
    return _current.get()


@contextmanager
def span_continuing(parent: str | bytes | None, **log_fields) -> Iterator[SpanContext]:
    """A new span in the parent's trace (a new trace when there is none); its ids and the
    given fields are bound to every log line written inside it."""
    caller = parse_traceparent(parent)
    span = caller.child() if caller else new_trace()
    token = _current.set(span)
    try:
        with structlog.contextvars.bound_contextvars(trace_id=span.trace_id, span_id=span.span_id,
                                                     **log_fields):
            yield span
    finally:
        _current.reset(token)
