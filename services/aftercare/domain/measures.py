"""Follow-up measures: the share of discharges with a completed follow-up within 7 and
within 30 days. Pure.

Days are calendar days in the program's time zone (HEDIS FUH/FUM: "within 7 days after
discharge", the discharge day not counting): the discharge's local date is day 0, the next
local date day 1, whatever the hour or a daylight-saving change. A demo or test with shortened
days (``day_length`` other than 24 h) uses a grid of ``day_length`` from the epoch instead.

Readmissions within the window, the FUH/FUM way: a readmission to the IOP (or partial
hospitalisation) is itself a qualifying follow-up visit, counted on its local day; a
readmission or direct transfer to inpatient or residential care within 30 days excludes the
discharge from both rates (denominator exclusion)."""

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)


def day_number(start: datetime, t: datetime, day_length: timedelta = DAY, tz: ZoneInfo | None = None) -> int:
    """The day of ``t`` counted from ``start``'s day (0). With 24-hour days: local calendar
    days in ``tz`` (UTC when None); otherwise days on a grid of ``day_length`` from the epoch."""
    if day_length == DAY:
        zone = tz or UTC
        return (t.astimezone(zone).date() - start.astimezone(zone).date()).days
    step = day_length.total_seconds()
    return int((t - EPOCH).total_seconds() // step) - int((start - EPOCH).total_seconds() // step)


def followed_up_within(discharged_at: datetime, completed: list[datetime], days: int,
                       day_length: timedelta = DAY, tz: ZoneInfo | None = None) -> bool:
    return any(1 <= day_number(discharged_at, c, day_length, tz) <= days for c in completed)


def window_closed(discharged_at: datetime, days: int, now: datetime, day_length: timedelta = DAY,
                  tz: ZoneInfo | None = None) -> bool:
    """A discharge counts in the measure once its window is over (or met early)."""
    return day_number(discharged_at, now, day_length, tz) > days


def local_due_at(discharged_at: datetime, day: int, tz: ZoneInfo, at: time = time(9)) -> datetime:
    """When the check-in of local day ``day`` after the discharge is due: ``at`` (morning) on that
    local date, so that answering it the same local day counts in the measure. A wall-clock time
    that a daylight-saving change skips moves forward by the gap (zoneinfo's fold rules)."""
    local = datetime.combine(discharged_at.astimezone(tz).date() + timedelta(days=day), at, tzinfo=tz)
    return local.astimezone(UTC)


@dataclass(frozen=True)
class Discharge:
    discharged_at: datetime
    completed: list[datetime]
    readmitted_to_iop_at: datetime | None = None      # a qualifying follow-up visit (FUH/FUM)
    inpatient_transfer_at: datetime | None = None     # within 30 days: excluded (FUH/FUM)
    tz: ZoneInfo | None = None                        # the program's time zone (else the measure's)


@dataclass(frozen=True)
class WindowMeasure:
    days: int
    discharges: int        # discharges whose window is over, or met already
    with_follow_up: int
    pending: int           # window still open and not met yet: not counted
    excluded: int = 0      # transferred to inpatient/residential care within 30 days

    @property
    def share(self) -> float | None:
        return round(self.with_follow_up / self.discharges, 4) if self.discharges else None


EXCLUSION_DAYS = 30


def follow_up_measure(discharges: list, days: int, now: datetime, day_length: timedelta = DAY,
                      tz: ZoneInfo | None = None) -> WindowMeasure:
    """``discharges``: ``Discharge`` rows, or (discharged at, completion times) pairs."""
    counted = met = pending = excluded = 0
    for d in discharges:
        d = d if isinstance(d, Discharge) else Discharge(*d)
        zone = d.tz or tz
        transfer = d.inpatient_transfer_at
        if transfer is not None and transfer <= now and \
                0 <= day_number(d.discharged_at, transfer, day_length, zone) <= EXCLUSION_DAYS:
            excluded += 1
            continue
        visits = [c for c in d.completed if c <= now]
        if d.readmitted_to_iop_at is not None and d.readmitted_to_iop_at <= now:
            visits.append(d.readmitted_to_iop_at)
        ok = followed_up_within(d.discharged_at, visits, days, day_length, zone)
        if ok or window_closed(d.discharged_at, days, now, day_length, zone):
            counted += 1
            met += ok
        else:
            pending += 1
    return WindowMeasure(days, counted, met, pending, excluded)
