"""The scheduling domain's vocabulary: the program calendar, a plan's requirements,
what is already booked, and what placement returns. Local times are naive datetimes in
the program's time zone; only the edges (handlers) convert to UTC (see local_time.py)."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time

from services.contracts.codes import Discipline, Modality, Weekday

WEEKDAYS = tuple(Weekday)  # date.weekday() order: mon=0 .. sun=6


def weekday_of(d: date) -> Weekday:
    return WEEKDAYS[d.weekday()]


@dataclass(frozen=True)
class Window:
    day: Weekday
    start: time
    end: time


@dataclass(frozen=True)
class GroupSlot:
    group_id: str
    modality: Modality
    day: Weekday
    start: time
    minutes: int
    capacity: int
    clinician_id: str
    place: str


@dataclass(frozen=True)
class Clinician:
    clinician_id: str
    disciplines: frozenset[Discipline]
    windows: tuple[Window, ...]


@dataclass(frozen=True)
class Requirement:
    intervention_id: str
    modality: Modality
    sessions: int  # per week
    minutes: int
    discipline: Discipline
    group: bool


@dataclass(frozen=True)
class Placement:
    intervention_id: str
    modality: Modality
    starts: datetime  # local, naive: the caller attaches the program's time zone
    ends: datetime
    clinician_id: str
    group_id: str | None


@dataclass(frozen=True)
class Unmet:
    intervention_id: str
    sessions_missing: int
    reason_code: str
    week_start: date | None = None


Span = tuple[datetime, datetime]


@dataclass
class Load:
    """What is already booked or unavailable, across participants (local times)."""

    group_seats: dict[tuple[str, date], int] = field(default_factory=dict)
    clinician_busy: dict[str, list[Span]] = field(default_factory=dict)
    cancelled_groups: set[tuple[str, date]] = field(default_factory=set)
    clinician_absent: dict[str, list[Span]] = field(default_factory=dict)

    def book(self, placements: Iterable[Placement]) -> None:
        for p in placements:
            if p.group_id:
                key = (p.group_id, p.starts.date())
                self.group_seats[key] = self.group_seats.get(key, 0) + 1
            else:
                self.clinician_busy.setdefault(p.clinician_id, []).append((p.starts, p.ends))

    def seats_taken(self, group_id: str, d: date) -> int:
        return self.group_seats.get((group_id, d), 0)


def overlaps(a: Span, spans: Iterable[Span]) -> bool:
    return any(a[0] < e and s < a[1] for s, e in spans)


def inside(start: datetime, end: datetime, windows: Iterable[Window]) -> bool:
    day = weekday_of(start.date())
    return any(w.day == day and w.start <= start.time() and end.time() <= w.end and end.date() == start.date()
               for w in windows)
