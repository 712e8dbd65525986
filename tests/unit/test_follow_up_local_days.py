"""The 7- and 30-day follow-up measures in the program's local calendar: the discharge's local
date is day 0 and does not count; local days 0, 1, 7, 8, 30, 31 across a daylight-saving change
(New York, spring forward on 2026-03-08; Sydney, autumn back on 2026-04-05) and in UTC+10
(Brisbane); readmissions the FUH/FUM way; and a check-in due early on its local day."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.aftercare.domain.measures import (
    Discharge,
    day_number,
    follow_up_measure,
    followed_up_within,
    local_due_at,
)

NEW_YORK, SYDNEY, BRISBANE = ZoneInfo("America/New_York"), ZoneInfo("Australia/Sydney"), ZoneInfo("Australia/Brisbane")


def local(tz, y, mo, d, h=0, mi=0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=tz)


# an evening discharge in New York (01:30 UTC the next day), three days before the clocks go forward
NY_DISCHARGE = local(NEW_YORK, 2026, 3, 5, 20, 30)


@pytest.mark.parametrize("when, day", [
    (local(NEW_YORK, 2026, 3, 5, 23, 59), 0),
    (local(NEW_YORK, 2026, 3, 6, 0, 0), 1),
    (local(NEW_YORK, 2026, 3, 6, 9, 0), 1),      # the next morning: UTC calls it day 0
    (local(NEW_YORK, 2026, 3, 12, 23, 59), 7),   # after the clocks went forward
    (local(NEW_YORK, 2026, 3, 13, 0, 0), 8),
    (local(NEW_YORK, 2026, 4, 4, 23, 59), 30),
    (local(NEW_YORK, 2026, 4, 5, 0, 0), 31),
])
def test_local_days_across_spring_forward(when, day):
    assert day_number(NY_DISCHARGE, when, tz=NEW_YORK) == day


def test_an_evening_discharge_and_a_visit_next_morning_counts_locally_not_in_utc():
    visit = local(NEW_YORK, 2026, 3, 6, 9, 0)
    assert followed_up_within(NY_DISCHARGE, [visit], 7, tz=NEW_YORK)
    assert not followed_up_within(NY_DISCHARGE, [visit], 7), "the old UTC days: both on 2026-03-06"


SYD_DISCHARGE = local(SYDNEY, 2026, 3, 30, 8, 0)   # UTC+11 until 2026-04-05 03:00, then UTC+10


@pytest.mark.parametrize("when, day", [
    (local(SYDNEY, 2026, 3, 30, 23, 59), 0),
    (local(SYDNEY, 2026, 3, 31, 0, 0), 1),
    (local(SYDNEY, 2026, 4, 6, 23, 59), 7),      # after the clocks went back
    (local(SYDNEY, 2026, 4, 7, 0, 0), 8),
    (local(SYDNEY, 2026, 4, 29, 23, 59), 30),
    (local(SYDNEY, 2026, 4, 30, 0, 0), 31),
])
def test_local_days_across_autumn_back(when, day):
    assert day_number(SYD_DISCHARGE, when, tz=SYDNEY) == day


BNE_DISCHARGE = local(BRISBANE, 2026, 6, 1, 8, 0)   # 2026-05-31 22:00 UTC


@pytest.mark.parametrize("when, day", [
    (local(BRISBANE, 2026, 6, 1, 23, 30), 0),      # UTC would call it day 1 (2026-06-01 13:30 UTC)
    (local(BRISBANE, 2026, 6, 2, 0, 0), 1),
    (local(BRISBANE, 2026, 6, 8, 23, 59), 7),
    (local(BRISBANE, 2026, 6, 9, 0, 0), 8),
    (local(BRISBANE, 2026, 7, 1, 23, 59), 30),
    (local(BRISBANE, 2026, 7, 2, 0, 0), 31),
])
def test_local_days_in_utc_plus_10(when, day):
    assert day_number(BNE_DISCHARGE, when, tz=BRISBANE) == day


def test_utc_plus_10_same_local_day_is_not_a_follow_up():
    same_day = local(BRISBANE, 2026, 6, 1, 23, 30)
    assert not followed_up_within(BNE_DISCHARGE, [same_day], 7, tz=BRISBANE)
    assert followed_up_within(BNE_DISCHARGE, [same_day], 7), "UTC days would count the discharge day"


@pytest.mark.parametrize("completed_day, within7, within30", [(0, False, False), (1, True, True), (7, True, True),
                                                               (8, False, True), (30, False, True),
                                                               (31, False, False)])
def test_the_measure_at_each_boundary(completed_day, within7, within30):
    completed = datetime.combine(NY_DISCHARGE.astimezone(NEW_YORK).date() + timedelta(days=completed_day),
                                 time(12), tzinfo=NEW_YORK)
    later = NY_DISCHARGE + timedelta(days=60)
    assert follow_up_measure([(NY_DISCHARGE, [completed])], 7, later, tz=NEW_YORK).with_follow_up == within7
    assert follow_up_measure([(NY_DISCHARGE, [completed])], 30, later, tz=NEW_YORK).with_follow_up == within30


@pytest.mark.parametrize("day, due_utc", [
    (1, datetime(2026, 3, 6, 14, 0, tzinfo=UTC)),   # 09:00 EST
    (7, datetime(2026, 3, 12, 13, 0, tzinfo=UTC)),  # 09:00 EDT, after spring forward
    (30, datetime(2026, 4, 4, 13, 0, tzinfo=UTC)),
])
def test_a_check_in_is_due_in_the_morning_of_its_local_day(day, due_utc):
    due = local_due_at(NY_DISCHARGE, day, NEW_YORK)
    assert due == due_utc
    assert day_number(NY_DISCHARGE, due, tz=NEW_YORK) == day, "answered when due, it counts for that day"


def test_an_iop_readmission_within_the_window_is_a_follow_up_visit():
    readmitted = local(NEW_YORK, 2026, 3, 10, 15, 0)   # local day 5
    later = NY_DISCHARGE + timedelta(days=60)
    m = follow_up_measure([Discharge(NY_DISCHARGE, [], readmitted_to_iop_at=readmitted)], 7, later, tz=NEW_YORK)
    assert (m.discharges, m.with_follow_up) == (1, 1)


@pytest.mark.parametrize("transfer_day, excluded", [(0, True), (30, True), (31, False)])
def test_an_inpatient_transfer_within_30_days_excludes_the_discharge(transfer_day, excluded):
    transfer = datetime.combine(NY_DISCHARGE.astimezone(NEW_YORK).date() + timedelta(days=transfer_day),
                                time(23), tzinfo=NEW_YORK)
    later = NY_DISCHARGE + timedelta(days=90)
    for days in (7, 30):
        m = follow_up_measure([Discharge(NY_DISCHARGE, [], inpatient_transfer_at=transfer)], days, later,
                              tz=NEW_YORK)
        assert (m.excluded, m.discharges) == ((1, 0) if excluded else (0, 1))
