"""Benchmark: place one week for N participants (default 1,000) across a program of at
least 30 groups, with availability drawn from realistic profiles (evening workers,
weekend-only, daytime, mixed shifts, narrow windows), one participant after another as
the service does. Prints the time taken and the share of required hours placed, against
an upper bound: each participant placed alone on an empty program (the same solver
without capacity or other participants), and against the old greedy placement.

    python -m services.scheduling.bench [--participants 1000] [--seed 7] [--slack 1.1]

It prints; it never asserts a timing (not part of `make test`)."""

import argparse
import math
import random
import time
from dataclasses import dataclass
from datetime import date
from datetime import time as t

from services.contracts.codes import Discipline, Modality
from services.contracts.codes import Weekday as D

from .domain.greedy import place_week_greedy
from .domain.model import Clinician, GroupSlot, Load, Requirement, Window
from .domain.placement import place_weeks, week_days

WEEK = date(2026, 11, 30)
CAPACITY = 12

# track -> (day, start, minutes, modality) meetings a week
TRACKS = {
    "evening": [(D.MON, t(18), 180, Modality.GROUP_PROCESS), (D.WED, t(18), 180, Modality.GROUP_PROCESS),
                (D.THU, t(18), 180, Modality.GROUP_PROCESS), (D.TUE, t(18), 60, Modality.MINDFULNESS),
                (D.TUE, t(19, 15), 90, Modality.PSYCHOEDUCATION), (D.FRI, t(18), 120, Modality.GROUP_CBT_SKILLS)],
    "weekend": [(D.SAT, t(9), 180, Modality.GROUP_PROCESS), (D.SUN, t(9), 180, Modality.GROUP_PROCESS),
                (D.SAT, t(12, 30), 60, Modality.MINDFULNESS), (D.SAT, t(13, 45), 90, Modality.PSYCHOEDUCATION),
                (D.SUN, t(12, 30), 120, Modality.GROUP_CBT_SKILLS)],
    "daytime": [(D.TUE, t(10), 180, Modality.GROUP_PROCESS), (D.THU, t(10), 180, Modality.GROUP_PROCESS),
                (D.TUE, t(13, 30), 60, Modality.MINDFULNESS), (D.THU, t(13, 30), 90, Modality.PSYCHOEDUCATION),
                (D.WED, t(10), 120, Modality.GROUP_CBT_SKILLS)],
}
PLAN = [Requirement("process", Modality.GROUP_PROCESS, 2, 180, Discipline.CLINICIAN, True),
        Requirement("mindful", Modality.MINDFULNESS, 1, 60, Discipline.CLINICIAN, True),
        Requirement("psyed", Modality.PSYCHOEDUCATION, 1, 90, Discipline.CLINICIAN, True),
        Requirement("skills", Modality.GROUP_CBT_SKILLS, 1, 120, Discipline.CLINICIAN, True),
        Requirement("individual", Modality.INDIVIDUAL_COUNSELLING, 1, 60, Discipline.CLINICIAN, False)]


def _w(days, start, end):
    return [Window(d, start, end) for d in days]


# profile -> (share of participants, availability builder, tracks it mostly uses)
PROFILES = {
    "evening_worker": (0.40, lambda r: _w([D.MON, D.TUE, D.WED, D.THU, D.FRI], t(17, r.choice([0, 30])), t(21, 30)),
                       {"evening": 1.0}),
    "weekend_only": (0.20, lambda r: _w([D.SAT, D.SUN], t(8, 30), t(17, r.choice([0, 30]))), {"weekend": 1.0}),
    "daytime": (0.15, lambda r: _w([D.TUE, D.WED, D.THU], t(9), t(16, 30)), {"daytime": 1.0}),
    "shift_worker": (0.15, lambda r: _w([D.MON, D.WED, D.THU], t(17, 30), t(21, 30))
                     + _w([D.SAT], t(8, 30), t(17)) + _w([D.TUE], t(18), t(19, 15)),
                     {"evening": 0.6, "weekend": 0.4}),
    "narrow": (0.10, lambda r: _w(r.sample([D.MON, D.TUE, D.WED, D.THU], 2), t(18), t(21))
               + _w([D.SAT], t(9), t(12, 30)), {"evening": 0.7, "weekend": 0.3}),
}


@dataclass
class Program:
    groups: list[GroupSlot]
    clinicians: list[Clinician]


def build_program(n: int, slack: float) -> Program:
    demand = dict.fromkeys(TRACKS, 0.0)
    for share, _, tracks in PROFILES.values():
        for track, part in tracks.items():
            demand[track] += n * share * part
    groups, leader = [], 0
    for track, meetings in TRACKS.items():
        per_modality: dict[Modality, int] = {}
        for _, _, _, m in meetings:
            per_modality[m] = per_modality.get(m, 0) + 1
        for day, start, minutes, m in meetings:
            sessions = next(r.sessions for r in PLAN if r.modality == m)
            rooms = math.ceil(demand[track] * sessions * slack / (per_modality[m] * CAPACITY))
            for k in range(rooms):
                leader += 1
                groups.append(GroupSlot(f"g-{track}-{m.value}-{day.value}-{k}", m, day, start, minutes, CAPACITY,
                                        f"c-lead-{leader % 60}", f"room-{k}"))
    windows = [_w([D.MON, D.TUE, D.WED, D.THU, D.FRI], t(16), t(21, 30)), _w([D.SAT, D.SUN], t(8, 30), t(17, 30)),
               _w([D.TUE, D.WED, D.THU], t(9), t(17))]
    hours = [27.5, 18, 24]
    shares = [0.55, 0.30, 0.15]
    clinicians = []
    for kind, (ws, h, share) in enumerate(zip(windows, hours, shares)):
        for k in range(math.ceil(n * share * slack / (h * 0.8))):
            clinicians.append(Clinician(f"c-ind-{kind}-{k}", frozenset({Discipline.CLINICIAN}), tuple(ws)))
    return Program(groups, clinicians)


def participants(n: int, seed: int) -> list[list[Window]]:
    r = random.Random(seed)
    names = list(PROFILES)
    weights = [PROFILES[p][0] for p in names]
    return [PROFILES[r.choices(names, weights)[0]][1](r) for _ in range(n)]


def run(n: int, seed: int, slack: float) -> None:
    program = build_program(n, slack)
    people = participants(n, seed)
    required = sum(r.sessions * r.minutes for r in PLAN) * n
    print(f"{n} participants, one week; {len(program.groups)} groups (weekly meetings, capacity {CAPACITY}), "
          f"{len(program.clinicians)} clinicians for individual sessions; "
          f"required {required / 60:.0f} h ({sum(r.sessions * r.minutes for r in PLAN) / 60:.1f} h each)")

    load, placed, started, optimal = Load(), 0, time.perf_counter(), 0
    unplaced_people = 0
    for windows in people:
        res = place_weeks([WEEK], PLAN, windows, program.groups, program.clinicians, load)
        load.book(res.placed)
        placed += res.minutes_placed
        optimal += res.optimal
        unplaced_people += bool(res.unmet)
    cp_time = time.perf_counter() - started

    started, bound = time.perf_counter(), 0
    for windows in people:
        bound += place_weeks([WEEK], PLAN, windows, program.groups, program.clinicians, Load()).minutes_placed
    bound_time = time.perf_counter() - started

    started, greedy_load, greedy = time.perf_counter(), Load(), 0
    minutes = {r.intervention_id: r.minutes for r in PLAN}
    for windows in people:
        ps, _ = place_week_greedy(week_days(WEEK), PLAN, windows, program.groups, program.clinicians,
                                  greedy_load)
        greedy += sum(minutes[p.intervention_id] for p in ps)
    greedy_time = time.perf_counter() - started

    print(f"CP-SAT, one participant after another (the service's algorithm): {cp_time:.1f} s "
          f"({1000 * cp_time / n:.0f} ms each, {optimal}/{n} solves optimal)")
    print(f"  hours placed: {placed / 60:.0f} h = {100 * placed / required:.1f}% of required, "
          f"{100 * placed / bound:.1f}% of the bound; {unplaced_people} participants with unmet requirements")
    print(f"bound (each participant alone, no capacity limits): {bound / 60:.0f} h = "
          f"{100 * bound / required:.1f}% of required ({bound_time:.1f} s)")
    print(f"greedy (the first version): {greedy_time:.1f} s; hours placed {greedy / 60:.0f} h = "
          f"{100 * greedy / required:.1f}% of required, {100 * greedy / bound:.1f}% of the bound")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--participants", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--slack", type=float, default=1.1, help="seats and clinician hours over expected demand")
    a = ap.parse_args()
    run(a.participants, a.seed, a.slack)


if __name__ == "__main__":
    main()
