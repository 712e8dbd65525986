"""Time zones and daylight saving, availability checks, weekly hours, schedule changes."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.contracts.codes import Discipline, Modality, Weekday
from services.scheduling.calendar_config import InvalidCalendar, load_calendar, parse_calendar, seed_document
from services.scheduling.domain.availability import InvalidAvailability, check_availability
from services.scheduling.domain.changes import Booked, diff_schedule
from services.scheduling.domain.hours import SessionHours, week_hours
from services.scheduling.domain.local_time import local_day_bounds_utc, session_span_utc, to_local, to_utc
from services.scheduling.domain.model import Load, Placement, Requirement, Window
from services.scheduling.domain.placement import place_weeks

NY = ZoneInfo("America/New_York")


def test_an_evening_group_stays_at_18_00_local_across_the_autumn_change():
    # DST ends in New York on Sunday 1 November 2026
    cal = load_calendar()
    reqs = [Requirement("i1", Modality.GROUP_PROCESS, 1, 180, Discipline.CLINICIAN, True)]
    mondays = [Window(Weekday.MON, time(17), time(22))]
    result = place_weeks([date(2026, 10, 26), date(2026, 11, 2)], reqs, mondays, list(cal.groups),
                         list(cal.clinicians), Load())
    before, after = (session_span_utc(p.starts, 180, NY) for p in result.placed)
    assert before == (datetime(2026, 10, 26, 22, tzinfo=UTC), datetime(2026, 10, 27, 1, tzinfo=UTC))
    assert after == (datetime(2026, 11, 2, 23, tzinfo=UTC), datetime(2026, 11, 3, 2, tzinfo=UTC))
    assert to_local(after[0], NY) == datetime(2026, 11, 2, 18)


def test_a_session_over_the_change_lasts_its_length_in_elapsed_time():
    starts, ends = session_span_utc(datetime(2026, 11, 1, 0, 30), 180, NY)  # 00:30 EDT
    assert ends - starts == timedelta(minutes=180)
    assert to_local(ends, NY) == datetime(2026, 11, 1, 2, 30)  # the clock went back at 02:00


def test_ambiguous_and_missing_local_times():
    assert to_utc(datetime(2026, 11, 1, 1, 30), NY) == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # first 01:30
    assert to_local(to_utc(datetime(2026, 3, 8, 2, 30), NY), NY) == datetime(2026, 3, 8, 3, 30)  # gap: later


def test_a_week_over_a_change_has_169_or_167_hours():
    start, end = local_day_bounds_utc(date(2026, 10, 26), 7, NY)
    assert end - start == timedelta(hours=169)
    start, end = local_day_bounds_utc(date(2026, 3, 2), 7, NY)  # spring forward on 8 March
    assert end - start == timedelta(hours=167)
    start, end = local_day_bounds_utc(date(2026, 3, 16), 7, NY)
    assert end - start == timedelta(hours=168)


def test_overlapping_or_impossible_availability_is_refused_with_the_reason():
    with pytest.raises(InvalidAvailability, match="mon 18:00-21:00 overlaps 20:00-22:00"):
        check_availability([Window(Weekday.MON, time(18), time(21)), Window(Weekday.MON, time(20), time(22))])
    with pytest.raises(InvalidAvailability, match="ends before it starts"):
        check_availability([Window(Weekday.TUE, time(21), time(18))])
    with pytest.raises(InvalidAvailability, match="shorter than the shortest session"):
        check_availability([Window(Weekday.TUE, time(18), time(18, 10))])
    with pytest.raises(InvalidAvailability, match="no availability window"):
        check_availability([])
    ok = check_availability([Window(Weekday.WED, time(18), time(21)), Window(Weekday.MON, time(18), time(21)),
                             Window(Weekday.MON, time(21), time(22))])
    assert [w.day for w in ok] == [Weekday.MON, Weekday.MON, Weekday.WED]


def test_a_calendar_edit_is_validated():
    doc = seed_document()
    assert len(parse_calendar(doc).groups) == len(doc["groups"])
    with pytest.raises(InvalidCalendar, match="group id appears twice"):
        parse_calendar({**doc, "groups": doc["groups"] + doc["groups"][:1]})
    with pytest.raises(InvalidCalendar):
        parse_calendar({**doc, "timezone": "Mars/Olympus"})
    with pytest.raises(InvalidCalendar, match="capacity"):
        parse_calendar({**doc, "groups": [{**doc["groups"][0], "capacity": 0}]})
    with pytest.raises(InvalidCalendar, match="without an offset"):  # placement compares it with local times
        parse_calendar({**doc, "groups": [{**doc["groups"][0], "start": "18:00Z"}]})


WEEK = date(2026, 11, 30)


def sh(status, minutes=180, attended=None, day=0):
    return SessionHours(WEEK, datetime(2026, 11, 30, 18) + timedelta(days=day), minutes, status, attended)


def test_the_week_cannot_reach_the_minimum_as_soon_as_a_session_is_missed():
    sessions = [sh("attended", attended=180), sh("scheduled", day=1), sh("scheduled", day=2),
                sh("scheduled", 60, day=3)]
    assert not week_hours(WEEK, sessions, 9).cannot_reach_minimum  # 3 + 3 + 3 + 1 = 10 still possible
    sessions[1] = sh("missed", day=1)
    h = week_hours(WEEK, sessions, 9)
    assert h.cannot_reach_minimum and (h.scheduled, h.attended, h.still_possible) == (10, 3, 7)


def test_partial_attendance_counts_its_minutes():
    sessions = [sh("attended", attended=120), sh("checked_in", day=1), sh("scheduled", day=2)]
    h = week_hours(WEEK, sessions, 9)
    assert h.attended == 2 and h.still_possible == 8 and h.cannot_reach_minimum


def test_a_re_placement_keeps_moves_cancels_and_adds():
    t = datetime(2026, 12, 1, 18)
    booked = [Booked("s1", "i1", t, t + timedelta(hours=3), "c-ana", "g-1"),
              Booked("s2", "i1", t + timedelta(days=2), t + timedelta(days=2, hours=3), "c-ana", "g-2"),
              Booked("s3", "i2", t, t + timedelta(hours=1), "c-ivy", None)]
    placed = [Placement("i1", Modality.GROUP_PROCESS, t, t + timedelta(hours=3), "c-ana", "g-1"),
              Placement("i1", Modality.GROUP_PROCESS, t + timedelta(days=3), t + timedelta(days=3, hours=3),
                        "c-ben", "g-3"),
              Placement("i4", Modality.PSYCHOEDUCATION, t, t + timedelta(hours=1), "c-cai", "g-4")]
    c = diff_schedule(booked, placed)
    assert [b.session_id for b, _ in c.kept] == ["s1"]
    assert [(b.session_id, p.group_id) for b, p in c.moved] == [("s2", "g-3")]
    assert [b.session_id for b in c.cancelled] == ["s3"]
    assert [p.intervention_id for p in c.added] == ["i4"]
