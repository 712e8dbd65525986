"""The first, greedy placement of one week, kept to measure against the CP-SAT
placement (placement.py) in the benchmark. Pure.

Greedy: group sessions go into the program's group slots (capacity
respected, one session of an intervention per day), individual sessions into a
clinician's window of the right discipline, neither overlapping the participant's
other sessions. What does not fit is returned as unmet, never dropped silently.
"""

from collections.abc import Mapping
from datetime import date, datetime, timedelta

from .model import (
    Clinician,
    GroupSlot,
    Load,
    Placement,
    Requirement,
    Unmet,
    Window,
    weekday_of,
)
from .model import (
    inside as _inside,
)
from .model import (
    overlaps as _overlaps,
)

STEP = timedelta(minutes=15)


def place_week_greedy(
    week: list[date],
    requirements: list[Requirement],
    availability: list[Window],
    groups: list[GroupSlot],
    clinicians: list[Clinician],
    load: Load,
    preferred_groups: Mapping[str, str] | None = None,
) -> tuple[list[Placement], list[Unmet]]:
    preferred_groups = preferred_groups or {}
    mine: list[tuple[datetime, datetime]] = []
    placed: list[Placement] = []
    unmet: list[Unmet] = []
    ordered = sorted(requirements, key=lambda r: (not r.group, -r.minutes))
    for req in ordered:
        days_used: set[date] = set()
        got = 0
        for d in week:
            if got == req.sessions:
                break
            if d in days_used:
                continue
            p = (_place_group(d, req, availability, groups, load, mine, preferred_groups) if req.group
                 else _place_individual(d, req, availability, clinicians, load, mine))
            if p is None:
                continue
            placed.append(p)
            mine.append((p.starts, p.ends))
            days_used.add(d)
            got += 1
        if got < req.sessions:
            reason = "no_group_slot_in_availability" if req.group else "no_clinician_time_in_availability"
            unmet.append(Unmet(req.intervention_id, req.sessions - got, reason))
    placed.sort(key=lambda p: p.starts)
    return placed, unmet


def _place_group(d, req, availability, groups, load, mine, preferred) -> Placement | None:
    day = weekday_of(d)
    candidates = [g for g in groups if g.modality == req.modality and g.day == day]
    candidates.sort(key=lambda g: g.group_id != preferred.get(req.intervention_id))
    for g in candidates:
        starts = datetime.combine(d, g.start)
        ends = starts + timedelta(minutes=g.minutes)
        if not _inside(starts, ends, availability) or _overlaps((starts, ends), mine):
            continue
        if load.group_seats.get((g.group_id, d), 0) >= g.capacity:
            continue
        load.group_seats[(g.group_id, d)] = load.group_seats.get((g.group_id, d), 0) + 1
        return Placement(req.intervention_id, req.modality, starts, ends, g.clinician_id, g.group_id)
    return None


def _place_individual(d, req, availability, clinicians, load, mine) -> Placement | None:
    day = weekday_of(d)
    length = timedelta(minutes=req.minutes)
    for c in clinicians:
        if req.discipline not in c.disciplines:
            continue
        busy = load.clinician_busy.setdefault(c.clinician_id, [])
        for w in (w for w in c.windows if w.day == day):
            t = datetime.combine(d, w.start)
            last = datetime.combine(d, w.end) - length
            while t <= last:
                span = (t, t + length)
                if _inside(*span, availability) and not _overlaps(span, mine) and not _overlaps(span, busy):
                    busy.append(span)
                    return Placement(req.intervention_id, req.modality, t, t + length, c.clinician_id, None)
                t += STEP
    return None
