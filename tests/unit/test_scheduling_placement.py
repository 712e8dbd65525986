"""CP-SAT placement: availability windows, group capacity, clinicians' availability,
weekly hours, same group across weeks, and what cannot be placed reported with reasons; and
one week placed at a time (``place_week``)."""

from datetime import date, datetime, time, timedelta
from itertools import pairwise

from services.contracts.codes import Discipline, Modality, Weekday
from services.scheduling.calendar_config import load_calendar
from services.scheduling.domain.greedy import place_week_greedy
from services.scheduling.domain.model import Clinician, GroupSlot, Load, Requirement, Window, inside
from services.scheduling.domain.placement import place_week, place_weeks, weeks_ahead

MONDAY = date(2026, 11, 30)
EVENINGS = [Window(d, time(17, 30), time(21, 30)) for d in (Weekday.MON, Weekday.TUE, Weekday.WED,
                                                            Weekday.THU, Weekday.FRI)]
IOP = [
    Requirement("i1", Modality.GROUP_PROCESS, 2, 180, Discipline.CLINICIAN, True),
    Requirement("i2", Modality.INDIVIDUAL_COUNSELLING, 1, 60, Discipline.CLINICIAN, False),
    Requirement("i3", Modality.MINDFULNESS, 1, 60, Discipline.CLINICIAN, True),
    Requirement("i4", Modality.PSYCHOEDUCATION, 1, 90, Discipline.CLINICIAN, True),
]


def place(reqs, availability, load=None, weeks=(MONDAY,), **kw):
    cal = load_calendar()
    return place_weeks(list(weeks), reqs, availability, list(cal.groups), list(cal.clinicians), load or Load(), **kw)


def no_overlap(placed):
    spans = sorted((p.starts, p.ends) for p in placed)
    return all(a[1] <= b[0] for a, b in pairwise(spans))


def test_every_session_falls_inside_the_participants_windows_and_meets_the_weekly_hours():
    result = place(IOP, EVENINGS, weeks=(MONDAY, MONDAY + timedelta(days=7)))
    assert result.unmet == [] and result.optimal
    assert len(result.placed) == 10
    assert all(inside(p.starts, p.ends, EVENINGS) for p in result.placed)
    assert no_overlap(result.placed)
    for w in (MONDAY, MONDAY + timedelta(days=7)):
        minutes = sum((p.ends - p.starts).total_seconds() / 60 for p in result.placed
                      if w <= p.starts.date() < w + timedelta(days=7))
        assert minutes / 60 >= 9, "IOP minimum of 9 hours a week"
    assert result.minutes_placed == result.minutes_required == 2 * (360 + 60 + 60 + 90)


def test_a_full_group_is_not_overbooked_and_the_next_participant_goes_elsewhere():
    cal = load_calendar()
    one_seat = [GroupSlot("g-a", Modality.GROUP_PROCESS, Weekday.MON, time(18), 180, 1, "c-ana", "room-1"),
                GroupSlot("g-b", Modality.GROUP_PROCESS, Weekday.WED, time(18), 180, 1, "c-ana", "room-1")]
    req = [Requirement("i1", Modality.GROUP_PROCESS, 1, 180, Discipline.CLINICIAN, True)]
    load = Load()
    first = place_weeks([MONDAY], req, EVENINGS, one_seat, list(cal.clinicians), load)
    load.book(first.placed)
    second = place_weeks([MONDAY], req, EVENINGS, one_seat, list(cal.clinicians), load)
    load.book(second.placed)
    third = place_weeks([MONDAY], req, EVENINGS, one_seat, list(cal.clinicians), load)
    assert {first.placed[0].group_id, second.placed[0].group_id} == {"g-a", "g-b"}
    assert third.placed == [] and third.unmet[0].reason_code == "groups_full_or_cancelled"


def test_individual_sessions_only_in_a_free_clinician_window_of_the_right_discipline():
    windows = (Window(Weekday.MON, time(17), time(19)),)
    clinicians = [Clinician("c-psy", frozenset({Discipline.PSYCHIATRY}), windows),
                  Clinician("c-cm", frozenset({Discipline.CASE_MANAGEMENT}), windows)]
    req = [Requirement("med", Modality.MEDICATION_MANAGEMENT, 1, 30, Discipline.PSYCHIATRY, False)]
    load = Load(clinician_busy={"c-psy": [(datetime(2026, 11, 30, 17), datetime(2026, 11, 30, 18, 30))]})
    r = place_weeks([MONDAY], req, EVENINGS, [], clinicians, load)
    (p,) = r.placed
    assert p.clinician_id == "c-psy" and p.starts == datetime(2026, 11, 30, 18, 30)
    load.clinician_absent["c-psy"] = [(datetime(2026, 11, 30, 18, 30), datetime(2026, 11, 30, 19))]
    r = place_weeks([MONDAY], req, EVENINGS, [], clinicians, load)
    assert r.placed == [] and r.unmet[0].reason_code == "clinicians_fully_booked"


def test_a_clinician_is_not_booked_for_an_individual_session_while_leading_a_group():
    clinicians = [Clinician("c-x", frozenset({Discipline.CLINICIAN}), (Window(Weekday.MON, time(17), time(21)),))]
    groups = [GroupSlot("g-x", Modality.MINDFULNESS, Weekday.MON, time(17), 180, 10, "c-x", "room-1")]
    req = [Requirement("i2", Modality.INDIVIDUAL_COUNSELLING, 1, 60, Discipline.CLINICIAN, False)]
    (p,) = place_weeks([MONDAY], req, EVENINGS, groups, clinicians, Load()).placed
    assert p.starts >= datetime(2026, 11, 30, 20)


def test_an_unschedulable_participant_is_reported_with_reasons():
    only_sunday_dawn = [Window(Weekday.SUN, time(6), time(7, 30))]
    result = place(IOP, only_sunday_dawn)
    assert result.placed == []
    reasons = {u.intervention_id: (u.sessions_missing, u.reason_code) for u in result.unmet}
    assert reasons == {"i1": (2, "no_group_slot_in_availability"), "i2": (1, "no_clinician_time_in_availability"),
                       "i3": (1, "no_group_slot_in_availability"), "i4": (1, "no_group_slot_in_availability")}
    assert all(u.week_start == MONDAY for u in result.unmet)


def test_a_participant_keeps_the_same_groups_across_weeks():
    weeks = [MONDAY + timedelta(days=7 * k) for k in range(3)]
    result = place(IOP, EVENINGS, weeks=weeks)
    for iid in ("i1", "i3", "i4"):
        per_week = [sorted(p.group_id for p in result.placed if p.intervention_id == iid
                           and w <= p.starts.date() < w + timedelta(days=7)) for w in weeks]
        assert per_week[0] == per_week[1] == per_week[2], iid


def test_a_preferred_group_is_kept_when_it_still_fits():
    reqs = [Requirement("i1", Modality.GROUP_PROCESS, 1, 180, Discipline.CLINICIAN, True)]
    for preferred in ("g-eve-process-wed", "g-eve-process-thu"):
        (p,) = place(reqs, EVENINGS, preferred_groups={"i1": preferred}).placed
        assert p.group_id == preferred


def test_nothing_is_placed_before_now():
    now = datetime(2026, 12, 2, 12)  # Wednesday noon
    result = place(IOP, EVENINGS, not_before=now)
    assert result.placed and all(p.starts >= now for p in result.placed)
    assert {u.reason_code for u in result.unmet} <= {"no_time_left_this_week", "conflicts_with_other_sessions"}


def test_the_plan_weeks_ahead():
    start = date(2026, 11, 30)
    assert weeks_ahead(start, 6, date(2026, 11, 20), 2) == [start, start + timedelta(days=7)]
    assert weeks_ahead(start, 6, date(2026, 12, 3), 2) == [start, start + timedelta(days=7)]
    assert weeks_ahead(start, 6, date(2026, 12, 7), 2) == [start + timedelta(days=7), start + timedelta(days=14)]
    assert weeks_ahead(start, 2, date(2026, 12, 30), 2) == []


def test_the_solver_places_at_least_what_the_greedy_does():
    cal = load_calendar()
    for availability in (EVENINGS, [Window(Weekday.TUE, time(16), time(21)), Window(Weekday.SAT, time(9), time(17))],
                         [Window(Weekday.FRI, time(17), time(21)), Window(Weekday.SUN, time(9), time(16))]):
        week = [MONDAY + timedelta(days=i) for i in range(7)]
        greedy, _ = place_week_greedy(week, IOP, availability, list(cal.groups), list(cal.clinicians), Load())
        solved = place(IOP, availability)
        greedy_minutes = sum(next(r.minutes for r in IOP if r.intervention_id == p.intervention_id) for p in greedy)
        assert solved.minutes_placed >= greedy_minutes
        assert no_overlap(solved.placed)


def test_no_group_meeting_while_its_clinician_is_away_or_it_is_cancelled():
    reqs = [Requirement("i1", Modality.GROUP_PROCESS, 1, 180, Discipline.CLINICIAN, True)]
    mondays = [Window(Weekday.MON, time(17), time(22)), Window(Weekday.WED, time(17), time(22))]
    (p,) = place(reqs, mondays, preferred_groups={"i1": "g-eve-process-mon"}).placed
    assert p.group_id == "g-eve-process-mon"
    away = Load(clinician_absent={"c-ana": [(datetime(2026, 11, 30, 8), datetime(2026, 11, 30, 23))]})
    (p,) = place(reqs, mondays, away, preferred_groups={"i1": "g-eve-process-mon"}).placed
    assert p.group_id == "g-eve-process-wed" and p.starts.date() == date(2026, 12, 2)
    cancelled = Load(cancelled_groups={("g-eve-process-mon", MONDAY), ("g-eve-process-wed", date(2026, 12, 2))})
    r = place(reqs, mondays, cancelled)
    assert r.placed == [] and r.unmet[0].reason_code == "groups_full_or_cancelled"


# -- one week at a time (place_week) ------------------------------------------------------------

WEEK = [MONDAY + timedelta(days=i) for i in range(7)]


def place_in_week(reqs, availability, load=None):
    cal = load_calendar()
    return place_week(WEEK, reqs, availability, list(cal.groups), list(cal.clinicians), load or Load())


def test_evening_participant_gets_the_whole_core_plan_in_their_evenings():
    placed, unmet = place_in_week(IOP, EVENINGS)
    assert unmet == []
    assert len(placed) == 5
    for p in placed:
        assert time(17, 30) <= p.starts.time() and p.ends.time() <= time(21, 30)
        assert p.starts.weekday() < 5
    spans = sorted((p.starts, p.ends) for p in placed)
    assert all(a[1] <= b[0] for a, b in pairwise(spans)), "no overlapping sessions"


def test_group_sessions_of_one_intervention_fall_on_different_days():
    placed, _ = place_in_week(IOP, EVENINGS)
    process_days = [p.starts.date() for p in placed if p.intervention_id == "i1"]
    assert len(set(process_days)) == 2


def test_what_does_not_fit_is_reported_not_dropped():
    only_sunday_morning = [Window(Weekday.SUN, time(8, 0), time(9, 30))]
    placed, unmet = place_in_week(IOP, only_sunday_morning)
    missing = {u.intervention_id: u.sessions_missing for u in unmet}
    assert missing["i1"] == 2 and missing["i3"] == 1
    assert sum(missing.values()) + len(placed) == 5


def test_full_groups_are_not_overbooked():
    load = Load()
    cal = load_calendar()
    for g in cal.groups:
        for d in WEEK:
            load.group_seats[(g.group_id, d)] = g.capacity
    placed, unmet = place_in_week(IOP, EVENINGS, load)
    assert not [p for p in placed if p.group_id]
    assert {u.intervention_id for u in unmet} == {"i1", "i3", "i4"}
