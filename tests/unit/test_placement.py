from datetime import date, time, timedelta

from services.contracts.codes import Discipline, Modality, Weekday
from services.scheduling.calendar_config import load_calendar
from services.scheduling.domain.placement import Load, Requirement, Window, place_week

MONDAY = date(2026, 11, 30)
WEEK = [MONDAY + timedelta(days=i) for i in range(7)]
EVENINGS = [Window(d, time(17, 30), time(21, 30)) for d in (Weekday.MON, Weekday.TUE, Weekday.WED,
                                                            Weekday.THU, Weekday.FRI)]
CORE = [
    Requirement("i1", Modality.GROUP_PROCESS, 2, 180, Discipline.CLINICIAN, True),
    Requirement("i2", Modality.INDIVIDUAL_COUNSELLING, 1, 60, Discipline.CLINICIAN, False),
    Requirement("i3", Modality.MINDFULNESS, 1, 60, Discipline.CLINICIAN, True),
    Requirement("i4", Modality.PSYCHOEDUCATION, 1, 90, Discipline.CLINICIAN, True),
]


def place(reqs, availability, load=None):
    cal = load_calendar()
    return place_week(WEEK, reqs, availability, list(cal.groups), list(cal.clinicians), load or Load())


def test_evening_participant_gets_the_whole_core_plan_in_their_evenings():
    placed, unmet = place(CORE, EVENINGS)
    assert unmet == []
    assert len(placed) == 5
    for p in placed:
        assert time(17, 30) <= p.starts.time() and p.ends.time() <= time(21, 30)
        assert p.starts.weekday() < 5
    spans = sorted((p.starts, p.ends) for p in placed)
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:])), "no overlapping sessions"


def test_group_sessions_of_one_intervention_fall_on_different_days():
    placed, _ = place(CORE, EVENINGS)
    process_days = [p.starts.date() for p in placed if p.intervention_id == "i1"]
    assert len(set(process_days)) == 2


def test_what_does_not_fit_is_reported_not_dropped():
    only_sunday_morning = [Window(Weekday.SUN, time(8, 0), time(9, 30))]
    placed, unmet = place(CORE, only_sunday_morning)
    missing = {u.intervention_id: u.sessions_missing for u in unmet}
    assert missing["i1"] == 2 and missing["i3"] == 1
    assert sum(missing.values()) + len(placed) == 5


def test_full_groups_are_not_overbooked():
    load = Load()
    cal = load_calendar()
    for g in cal.groups:
        for d in WEEK:
            load.group_seats[(g.group_id, d)] = g.capacity
    placed, unmet = place(CORE, EVENINGS, load)
    assert not [p for p in placed if p.group_id]
    assert {u.intervention_id for u in unmet} == {"i1", "i3", "i4"}
