"""Follow-up measures: the share of discharges with a completed follow-up within 7 and
within 30 days. The discharge day is day 0 and does not count; day 1..N does. Pure."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def day_number(start: datetime, t: datetime, day_length: timedelta = timedelta(days=1)) -> int:
    """Days since the start's day, on a grid of ``day_length`` from the epoch (with
    24-hour days: calendar days in UTC). The start's own day is 0."""
    step = day_length.total_seconds()
    return int((t - EPOCH).total_seconds() // step) - int((start - EPOCH).total_seconds() // step)


def followed_up_within(discharged_at: datetime, completed: list[datetime], days: int,
                       day_length: timedelta = timedelta(days=1)) -> bool:
    return any(1 <= day_number(discharged_at, c, day_length) <= days for c in completed)


def window_closed(discharged_at: datetime, days: int, now: datetime,
                  day_length: timedelta = timedelta(days=1)) -> bool:
    """A discharge counts in the measure once its window is over (or met early)."""
    return day_number(discharged_at, now, day_length) > days


@dataclass(frozen=True)
class WindowMeasure:
    days: int
    discharges: int        # discharges whose window is over, or met already
    with_follow_up: int
    pending: int           # window still open and not met yet: not counted

    @property
    def share(self) -> float | None:
        return round(self.with_follow_up / self.discharges, 4) if self.discharges else None


def follow_up_measure(discharges: list[tuple[datetime, list[datetime]]], days: int, now: datetime,
                      day_length: timedelta = timedelta(days=1)) -> WindowMeasure:
    """``discharges``: (discharged at, completion times of its follow-ups) per discharge."""
    counted = met = pending = 0
    for discharged_at, completed in discharges:
        ok = followed_up_within(discharged_at, [c for c in completed if c <= now], days, day_length)
        if ok or window_closed(discharged_at, days, now, day_length):
            counted += 1
            met += ok
        else:
            pending += 1
    return WindowMeasure(days, counted, met, pending)
