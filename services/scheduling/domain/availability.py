"""Checking a participant's weekly availability windows. Pure.

Refused, with the reason: a window that ends before it starts or is shorter than
the shortest session, and windows on one day that overlap (two entries for the
same evening are a mistake to correct, not to guess at)."""

from datetime import datetime, timedelta
from itertools import pairwise

from .model import WEEKDAYS, Window

SHORTEST_SESSION = timedelta(minutes=15)


class InvalidAvailability(ValueError):
    pass


def _length(w: Window) -> timedelta:
    return datetime.combine(datetime.min, w.end) - datetime.combine(datetime.min, w.start)


def check_availability(windows: list[Window]) -> list[Window]:
    """The windows, sorted, or ``InvalidAvailability`` with every reason found."""
    reasons = []
    for w in windows:
        if w.end <= w.start:
            reasons.append(f"{w.day} {w.start:%H:%M}-{w.end:%H:%M}: ends before it starts")
        elif _length(w) < SHORTEST_SESSION:
            reasons.append(f"{w.day} {w.start:%H:%M}-{w.end:%H:%M}: shorter than the shortest session (15 min)")
    ordered = sorted(windows, key=lambda w: (WEEKDAYS.index(w.day), w.start))
    for a, b in pairwise(ordered):
        if a.day == b.day and b.start < a.end and a.end > a.start:
            reasons.append(f"{a.day} {a.start:%H:%M}-{a.end:%H:%M} overlaps {b.start:%H:%M}-{b.end:%H:%M}")
    if not windows:
        reasons.append("no availability window")
    if reasons:
        raise InvalidAvailability("; ".join(reasons))
    return ordered
