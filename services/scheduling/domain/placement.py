"""Placing a plan's sessions for the coming weeks with a solver (OR-Tools CP-SAT). Pure.

One participant at a time, against what is already booked (``Load``): the service
places each plan as it arrives, so seats and clinicians' time go first come, first served.

Candidates are every group meeting of the right modality and every start (15-minute
steps) in a clinician's free window of the right discipline (one clinician per start time:
the participant's own first, since clinicians of a discipline are interchangeable), kept only when they fall
inside the participant's availability, after ``not_before``, with a free seat, outside
cancelled meetings and clear of the participant's fixed sessions. The model chooses at
most ``sessions`` per intervention and week, one per day, none overlapping; it maximises
the minutes placed, then keeps each intervention in as few groups (and with as few
clinicians) as possible across weeks, preferring the groups the participant already has.
What does not fit is returned as unmet with a reason, never dropped.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from ortools.sat.python import cp_model

from .model import (
    Clinician,
    GroupSlot,
    Load,
    Placement,
    Requirement,
    Span,
    Unmet,
    Window,
    inside,
    overlaps,
    weekday_of,
)

STEP = timedelta(minutes=15)
MINUTE_WEIGHT = 100  # one minute placed outweighs any preference below
NEW_GROUP_PENALTY = 50  # per extra group (or clinician) an intervention is spread over
SOLVER_SECONDS = 5.0


@dataclass(frozen=True)
class Candidate:
    req: int
    week: int
    starts: datetime
    ends: datetime
    clinician_id: str
    group_id: str | None


@dataclass(frozen=True)
class PlacementResult:
    placed: list[Placement]
    unmet: list[Unmet]
    minutes_required: int
    minutes_placed: int  # of the required minutes (a longer group counts its required length)
    minutes_bound: int  # the solver's upper bound on minutes placeable (== placed when optimal)
    optimal: bool


def week_days(week_start: date) -> list[date]:
    return [week_start + timedelta(days=i) for i in range(7)]


def _group_candidates(r: int, w: int, days: list[date], req: Requirement, availability, groups, load,
                      not_before, fixed, counts) -> list[Candidate]:
    out = []
    for d in days:
        for g in groups:
            if g.modality != req.modality or g.day != weekday_of(d):
                continue
            counts["exists"] += 1
            starts = datetime.combine(d, g.start)
            ends = starts + timedelta(minutes=g.minutes)
            if not inside(starts, ends, availability):
                continue
            counts["in_availability"] += 1
            if not_before and starts < not_before:
                continue
            counts["not_past"] += 1
            if (g.group_id, d) in load.cancelled_groups or load.seats_taken(g.group_id, d) >= g.capacity \
                    or overlaps((starts, ends), load.clinician_absent.get(g.clinician_id, ())):
                continue
            counts["free"] += 1
            if overlaps((starts, ends), fixed):
                continue
            out.append(Candidate(r, w, starts, ends, g.clinician_id, g.group_id))
    return out


def _leading(c: Clinician, d: date, groups: list[GroupSlot], load: Load) -> list[Span]:
    """The clinician's own group meetings that day: no individual session then."""
    return [(datetime.combine(d, g.start), datetime.combine(d, g.start) + timedelta(minutes=g.minutes))
            for g in groups if g.clinician_id == c.clinician_id and g.day == weekday_of(d)
            and (g.group_id, d) not in load.cancelled_groups]


def _individual_candidates(r: int, w: int, days: list[date], req: Requirement, availability, clinicians, groups,
                           load, not_before, fixed, counts, step: timedelta, preferred: str | None) -> list[Candidate]:
    out = []
    length = timedelta(minutes=req.minutes)
    taken: set[datetime] = set()  # clinicians of one discipline are interchangeable: one per start time
    ordered = sorted(clinicians, key=lambda c: c.clinician_id != preferred)
    for d in days:
        for c in ordered:
            if req.discipline not in c.disciplines:
                continue
            busy = [*load.clinician_busy.get(c.clinician_id, ()), *load.clinician_absent.get(c.clinician_id, ()),
                    *_leading(c, d, groups, load)]
            for win in (x for x in c.windows if x.day == weekday_of(d)):
                counts["exists"] += 1
                t, last = datetime.combine(d, win.start), datetime.combine(d, win.end) - length
                while t <= last:
                    span = (t, t + length)
                    t += step
                    if not inside(*span, availability):
                        continue
                    counts["in_availability"] += 1
                    if not_before and span[0] < not_before:
                        continue
                    counts["not_past"] += 1
                    if overlaps(span, busy):
                        continue
                    counts["free"] += 1
                    if overlaps(span, fixed) or span[0] in taken:
                        continue
                    taken.add(span[0])
                    out.append(Candidate(r, w, span[0], span[1], c.clinician_id, None))
    return out


def _reason(req: Requirement, counts: Mapping[str, int], had_candidates: bool) -> str:
    if req.group:
        if not counts["exists"]:
            return "no_group_for_modality"
        if not counts["in_availability"]:
            return "no_group_slot_in_availability"
        if not counts["not_past"]:
            return "no_time_left_this_week"
        if not counts["free"]:
            return "groups_full_or_cancelled"
    else:
        if not counts["exists"]:
            return "no_clinician_of_discipline"
        if not counts["in_availability"]:
            return "no_clinician_time_in_availability"
        if not counts["not_past"]:
            return "no_time_left_this_week"
        if not counts["free"]:
            return "clinicians_fully_booked"
    return "conflicts_with_other_sessions" if had_candidates else "conflicts_with_fixed_sessions"


def place_weeks(
    week_starts: list[date],
    requirements: list[Requirement],
    availability: list[Window],
    groups: list[GroupSlot],
    clinicians: list[Clinician],
    load: Load,
    *,
    preferred_groups: Mapping[str, str] | None = None,
    not_before: datetime | None = None,
    fixed: Iterable[Span] = (),
    step: timedelta = STEP,
    time_limit_s: float = SOLVER_SECONDS,
) -> PlacementResult:
    """Place ``requirements`` in each week starting at ``week_starts`` (local dates)."""
    preferred_groups = preferred_groups or {}
    fixed = list(fixed)
    candidates: list[Candidate] = []
    counts: dict[tuple[int, int], dict[str, int]] = {}
    for w, ws in enumerate(week_starts):
        days = week_days(ws)
        for r, req in enumerate(requirements):
            c = counts[(r, w)] = defaultdict(int)
            if req.group:
                candidates += _group_candidates(r, w, days, req, availability, groups, load, not_before, fixed, c)
            else:
                candidates += _individual_candidates(r, w, days, req, availability, clinicians, groups, load,
                                                     not_before, fixed, c, step,
                                                     preferred_groups.get(req.intervention_id))

    chosen, bound, optimal = _solve(candidates, requirements, preferred_groups, week_starts, time_limit_s)

    placed = sorted((Placement(requirements[c.req].intervention_id, requirements[c.req].modality, c.starts, c.ends,
                               c.clinician_id, c.group_id) for c in chosen), key=lambda p: p.starts)
    got: dict[tuple[int, int], int] = defaultdict(int)
    for placed_c in chosen:
        got[(placed_c.req, placed_c.week)] += 1
    has_candidates = {(c.req, c.week) for c in candidates}
    unmet = [Unmet(req.intervention_id, req.sessions - got[(r, w)],
                   _reason(req, counts[(r, w)], (r, w) in has_candidates), ws)
             for w, ws in enumerate(week_starts) for r, req in enumerate(requirements)
             if got[(r, w)] < req.sessions]
    required = sum(req.sessions * req.minutes for req in requirements) * len(week_starts)
    placed_minutes = sum(requirements[c.req].minutes for c in chosen)
    return PlacementResult(placed, unmet, required, placed_minutes, max(bound, placed_minutes), optimal)


def _solve(candidates: list[Candidate], requirements: list[Requirement], preferred: Mapping[str, str],
           week_starts: list[date], time_limit_s: float) -> tuple[list[Candidate], int, bool]:
    if not candidates:
        return [], 0, True
    m = cp_model.CpModel()
    origin = datetime.combine(min(week_starts), datetime.min.time())
    x = [m.new_bool_var(f"x{i}") for i in range(len(candidates))]
    per_req_week: dict[tuple[int, int], list] = defaultdict(list)
    per_req_day: dict[tuple[int, date], list] = defaultdict(list)
    per_req_resource: dict[tuple[int, str], list] = defaultdict(list)
    intervals = []
    for i, c in enumerate(candidates):
        per_req_week[(c.req, c.week)].append(x[i])
        per_req_day[(c.req, c.starts.date())].append(x[i])
        per_req_resource[(c.req, c.group_id or c.clinician_id)].append(x[i])
        s = int((c.starts - origin).total_seconds() // 60)
        e = int((c.ends - origin).total_seconds() // 60)
        intervals.append(m.new_optional_interval_var(s, e - s, e, x[i], f"iv{i}"))
    for (r, _w), xs in per_req_week.items():
        m.add(sum(xs) <= requirements[r].sessions)
    for xs in per_req_day.values():
        m.add_at_most_one(xs)
    m.add_no_overlap(intervals)  # the participant is in one place at a time

    minutes = sum(x[i] * requirements[c.req].minutes for i, c in enumerate(candidates))
    spread = []
    for (r, resource), xs in per_req_resource.items():
        used = m.new_bool_var(f"used_{r}_{resource}")
        for v in xs:
            m.add_implication(v, used)
        if preferred.get(requirements[r].intervention_id) != resource:
            spread.append(used)
    m.maximize(minutes * MINUTE_WEIGHT - NEW_GROUP_PENALTY * sum(spread))

    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit_s
    solver.parameters.num_workers = 1  # deterministic, and the machine is shared
    status = solver.Solve(m)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return [], 0, False
    chosen = [c for i, c in enumerate(candidates) if solver.Value(x[i])]
    # the bound on minutes: the objective's bound, with the preference terms at their best
    bound = int(solver.BestObjectiveBound() // MINUTE_WEIGHT) + 1 if status != cp_model.OPTIMAL else None
    placed = sum(requirements[c.req].minutes for c in chosen)
    return chosen, (placed if bound is None else bound), status == cp_model.OPTIMAL


def weeks_ahead(start_date: date, expected_weeks: int, today: date, horizon: int) -> list[date]:
    """The plan's weeks (from its start date, 7 days each) not yet over, at most ``horizon``."""
    weeks = [start_date + timedelta(days=7 * k) for k in range(expected_weeks)]
    return [w for w in weeks if w + timedelta(days=7) > today][:horizon]


def place_week(week: list[date], requirements: list[Requirement], availability: list[Window],
               groups: list[GroupSlot], clinicians: list[Clinician], load: Load,
               preferred_groups: Mapping[str, str] | None = None) -> tuple[list[Placement], list[Unmet]]:
    """One week, the shape the first (greedy) version had."""
    result = place_weeks([week[0]], requirements, availability, groups, clinicians, load,
                         preferred_groups=preferred_groups)
    return result.placed, result.unmet
