"""The worked example of an upcaster, for tests only: a v2 of SessionAttended that counts
seconds where v1 counted minutes, and the upcaster that reads a v1 payload as v2. A real v2
would be a model in ``services/contracts/events_scheduling.py`` registered with
``@event("scheduling", "session_attended", version=2)`` and its upcaster registered beside it;
here both are added for the duration of a test only (``session_attended_v2``), so the published
catalogue stays as it is."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from pydantic import Field

from services.contracts import catalogue
from services.contracts.base import Event, Id
from services.contracts.codes import Modality
from services.contracts.events_scheduling import SessionAttended
from services.contracts.upcasting import UPCASTERS, Data

V1 = SessionAttended.event_type  # continuum.scheduling.session_attended.v1
V2 = "continuum.scheduling.session_attended.v2"


class SessionAttendedV2(Event):
    """As v1, with the time attended in seconds (``seconds_attended``) instead of minutes."""

    session_id: Id
    plan_id: Id
    modality: Modality
    seconds_attended: int = Field(ge=0, le=600 * 60)
    attended_at: datetime


SessionAttendedV2.producer, SessionAttendedV2.version, SessionAttendedV2.event_type = "scheduling", 2, V2


def minutes_to_seconds(data: Data) -> Data:
    """v1 to v2: ``minutes_attended`` becomes ``seconds_attended``; the rest is unchanged."""
    rest = {k: v for k, v in data.items() if k != "minutes_attended"}
    return {**rest, "seconds_attended": data["minutes_attended"] * 60}


@contextmanager
def session_attended_v2() -> Iterator[type[SessionAttendedV2]]:
    """v2 in the catalogue and the v1 to v2 upcaster registered, while the block runs."""
    catalogue.EVENT_TYPES[V2] = SessionAttendedV2
    UPCASTERS.register(V1, V2)(minutes_to_seconds)
    try:
        yield SessionAttendedV2
    finally:
        UPCASTERS.remove(V1)
        del catalogue.EVENT_TYPES[V2]
