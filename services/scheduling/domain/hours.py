"""Weekly hours: scheduled, attended, still possible, against the plan's minimum. Pure.

A week "can no longer reach the minimum" as soon as the hours attended plus the hours
of its sessions still ahead (scheduled or checked in) fall below the minimum: after a
no-show or a cancellation, not only when the week is over."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

OPEN = ("scheduled", "checked_in")


@dataclass(frozen=True)
class SessionHours:
    week_start: date
    starts: datetime
    minutes: int
    status: str  # scheduled | checked_in | attended | missed | cancelled
    minutes_attended: int | None = None


@dataclass(frozen=True)
class WeekHours:
    week_start: date
    scheduled: float
    attended: float
    still_possible: float  # attended + what is still open
    required: float

    @property
    def cannot_reach_minimum(self) -> bool:
        return self.still_possible + 1e-9 < self.required


def week_hours(week_start: date, sessions: Iterable[SessionHours], required: float) -> WeekHours:
    mine = [s for s in sessions if s.week_start == week_start]
    scheduled = sum(s.minutes for s in mine if s.status != "cancelled") / 60
    attended = sum(s.minutes_attended or 0 for s in mine if s.status == "attended") / 60
    still_open = sum(s.minutes for s in mine if s.status in OPEN) / 60
    return WeekHours(week_start, round(scheduled, 2), round(attended, 2), round(attended + still_open, 2),
                     required)
