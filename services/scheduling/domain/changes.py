"""What a re-placement changes in a participant's schedule. Pure.

The sessions still ahead are matched with the new placement intervention by
intervention, in time order: a pair at the same time and place is kept, a pair that
differs is a reschedule (the session keeps its id), a session left over is cancelled
and a placement left over is a new session."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from .model import Placement


@dataclass(frozen=True)
class Booked:
    session_id: str
    intervention_id: str
    starts: datetime  # local
    ends: datetime
    clinician_id: str
    group_id: str | None


@dataclass(frozen=True)
class ScheduleChanges:
    kept: list[tuple[Booked, Placement]]
    moved: list[tuple[Booked, Placement]]
    cancelled: list[Booked]
    added: list[Placement]


def diff_schedule(ahead: list[Booked], placed: list[Placement]) -> ScheduleChanges:
    old: dict[str, list[Booked]] = defaultdict(list)
    new: dict[str, list[Placement]] = defaultdict(list)
    for b in sorted(ahead, key=lambda b: b.starts):
        old[b.intervention_id].append(b)
    for p in sorted(placed, key=lambda p: p.starts):
        new[p.intervention_id].append(p)
    kept, moved, cancelled, added = [], [], [], []
    for iid in old.keys() | new.keys():
        olds, news = old.get(iid, []), new.get(iid, [])
        # an unchanged session stays matched with itself first
        same = {(p.starts, p.group_id, p.clinician_id): p for p in news}
        rest_old: list[Booked] = []
        for b in olds:
            unchanged = same.pop((b.starts, b.group_id, b.clinician_id), None)
            if unchanged is not None:
                kept.append((b, unchanged))
            else:
                rest_old.append(b)
        rest_new = sorted(same.values(), key=lambda p: p.starts)
        moved += list(zip(rest_old, rest_new))
        cancelled += rest_old[len(rest_new):]
        added += rest_new[len(rest_old):]
    return ScheduleChanges(kept, moved, cancelled, added)
