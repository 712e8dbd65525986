"""The CloudEvents 1.0 envelope (structured JSON mode) and its Kafka form.

The value is the structured CloudEvent; the key is the participant id; the
``ce_type``/``ce_id``/``ce_source`` headers let a subscriber filter without
parsing. Extensions: tenantid, programid, correlationid, causationid, traceparent.
"""

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .base import Event, Id
from .catalogue import EVENT_TYPES, model_for
from .upcasting import UPCASTERS, versioned

MAX_EVENT_BYTES = 512 * 1024


class CloudEvent(BaseModel):
    model_config = ConfigDict(frozen=True, extra="allow")

    specversion: Literal["1.0"]
    id: str = Field(min_length=1, max_length=128)
    source: str = Field(min_length=1, max_length=256)
    type: str = Field(min_length=1, max_length=256)
    time: datetime
    subject: Id
    datacontenttype: Literal["application/json"] = "application/json"
    dataschema: str | None = None
    tenantid: Id
    programid: Id
    correlationid: str = Field(min_length=1, max_length=128)
    causationid: str | None = None
    traceparent: str | None = None
    data: dict[str, Any]


@dataclass(frozen=True)
class EventContext:
    """Who an event belongs to and what caused it; carried from cause to effect."""

    tenant_id: str
    program_id: str
    correlation_id: str
    causation_id: str | None = None
    traceparent: str | None = None

    @classmethod
    def new(cls, tenant_id: str, program_id: str) -> "EventContext":
        return cls(tenant_id, program_id, correlation_id=str(uuid.uuid4()))

    @classmethod
    def caused_by(cls, cause: CloudEvent) -> "EventContext":
        return cls(
            tenant_id=cause.tenantid,
            program_id=cause.programid,
            correlation_id=cause.correlationid,
            causation_id=cause.id,
            traceparent=cause.traceparent,
        )


def source_of(service: str) -> str:
    return f"/services/{service}"


def wrap(event: Event, ctx: EventContext, *, event_id: str | None = None) -> CloudEvent:
    return CloudEvent(
        specversion="1.0",
        id=event_id or str(uuid.uuid4()),
        source=source_of(event.producer),
        type=event.event_type,
        time=datetime.now(UTC),
        subject=event.participant_id,
        dataschema=f"/schemas/{event.event_type}.json",
        tenantid=ctx.tenant_id,
        programid=ctx.program_id,
        correlationid=ctx.correlation_id,
        causationid=ctx.causation_id,
        traceparent=ctx.traceparent,
        data=event.model_dump(mode="json"),
    )


@dataclass(frozen=True)
class KafkaRecord:
    key: bytes
    value: bytes
    headers: tuple[tuple[str, bytes], ...]


def to_record(ce: CloudEvent) -> KafkaRecord:
    value = ce.model_dump_json(exclude_none=True).encode()
    headers: tuple[tuple[str, bytes], ...] = (
        ("ce_specversion", b"1.0"),
        ("ce_type", ce.type.encode()),
        ("ce_id", ce.id.encode()),
        ("ce_source", ce.source.encode()),
        ("content-type", b"application/cloudevents+json"),
    )
    if ce.traceparent:
        headers += (("traceparent", ce.traceparent.encode()),)
    return KafkaRecord(key=ce.subject.encode(), value=value, headers=headers)


class InvalidEvent(Exception):
    """A message that can never be handled: its reason goes to the dead-letter topic."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _first_error(exc: ValidationError) -> str:
    errors = exc.errors()
    parts = [f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}" for e in errors[:3]]
    more = f" (+{len(errors) - 3} more)" if len(errors) > 3 else ""
    return "; ".join(parts) + more


def parse_envelope(value: bytes | None) -> CloudEvent:
    if value is None:
        raise InvalidEvent("empty message (null value)")
    if len(value) > MAX_EVENT_BYTES:
        raise InvalidEvent(f"oversized message: {len(value)} bytes > {MAX_EVENT_BYTES}")
    try:
        raw = json.loads(value)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidEvent(f"not JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise InvalidEvent("not a CloudEvent: JSON value is not an object")
    try:
        return CloudEvent.model_validate(raw)
    except ValidationError as exc:
        raise InvalidEvent(f"not a CloudEvent: {_first_error(exc)}") from None


def parse_data(ce: CloudEvent) -> Event:
    """The event in its current version: an older version's data is upcast first (``upcasting``)."""
    try:
        event_type, data = UPCASTERS.upcast(ce.type, ce.data)
    except Exception as exc:  # noqa: BLE001 - a payload its upcaster cannot read is dead-lettered
        raise InvalidEvent(f"invalid {ce.type}: its upcaster failed: {type(exc).__name__}: {exc}"[:1000]) from None
    model = model_for(event_type)
    if model is None:
        raise InvalidEvent(f"unknown event type: {ce.type}{_versions_read(ce.type)}")
    try:
        ev = model.model_validate(data)
    except ValidationError as exc:
        upcast = f" (upcast to {event_type})" if event_type != ce.type else ""
        raise InvalidEvent(f"invalid {ce.type}{upcast}: {_first_error(exc)}") from None
    if ev.participant_id != ce.subject:
        raise InvalidEvent("subject does not match data.participant_id")
    return ev


def _versions_read(event_type: str) -> str:
    """`` (this code reads v1, v2)`` for a version of an event this code does not know."""
    name = versioned(event_type)
    if name is None:
        return ""
    known = sorted({v[1] for t in [*EVENT_TYPES, *UPCASTERS] if (v := versioned(t)) and v[0] == name[0]})
    return f" (this code reads {', '.join(f'v{n}' for n in known)})" if known else ""
