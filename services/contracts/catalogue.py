"""Every event type, by its CloudEvents ``type`` string."""

from . import events_aftercare, events_intake, events_planning, events_scheduling  # noqa: F401  (register)
from .base import _CATALOGUE, Event

EVENT_TYPES: dict[str, type[Event]] = dict(sorted(_CATALOGUE.items()))


def model_for(event_type: str) -> type[Event] | None:
    return EVENT_TYPES.get(event_type)


def events_of(producer: str) -> list[type[Event]]:
    return [m for m in EVENT_TYPES.values() if m.producer == producer]
