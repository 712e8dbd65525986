"""The program's wall clock and UTC. Pure.

Sessions are planned in the program's local time (18:00 stays 18:00 across a
daylight-saving change) and stored in UTC. A local time that does not exist (the hour
skipped in spring) moves forward by the gap; an ambiguous one (the hour repeated in
autumn) is the first. A session's end is its start plus its length in elapsed time.
"""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def to_utc(local: datetime, tz: ZoneInfo) -> datetime:
    # fold=0: an ambiguous time is its first occurrence; a time in the spring gap takes the
    # offset before the change, i.e. lands the length of the gap later (02:30 -> 03:30)
    return local.replace(tzinfo=tz, fold=0).astimezone(UTC)


def to_local(utc: datetime, tz: ZoneInfo) -> datetime:
    return utc.astimezone(tz).replace(tzinfo=None)


def session_span_utc(local_start: datetime, minutes: int, tz: ZoneInfo) -> tuple[datetime, datetime]:
    starts = to_utc(local_start, tz)
    return starts, starts + timedelta(minutes=minutes)


def week_start_of(d: date) -> date:
    """The Monday of ``d``'s week."""
    return d - timedelta(days=d.weekday())


def local_day_bounds_utc(first: date, days: int, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[first 00:00, first+days 00:00) local, in UTC: a week may last 167 or 169 hours."""
    return (to_utc(datetime.combine(first, time()), tz),
            to_utc(datetime.combine(first + timedelta(days=days), time()), tz))
