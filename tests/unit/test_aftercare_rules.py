"""Aftercare's pure rules: cadence per program, the 7/30-day windows, grace and escalation,
what a risk does to the remaining follow-ups; check-in due times and outcomes."""

from datetime import UTC, datetime, timedelta

import pytest

from services.aftercare.domain.cadence import cadence_for
from services.aftercare.domain.follow_up_rules import CheckIn, check_in_status, follow_up_due_times, relapse_risk
from services.aftercare.domain.measures import day_number, follow_up_measure, followed_up_within
from services.aftercare.domain.missed import GraceOutcome, escalation_for, grace_outcome
from services.aftercare.domain.step_up import RemainingFollowUps, is_readmission, remaining_follow_ups
from services.aftercare.settings import AftercareSettings
from services.contracts.codes import FollowUpStatus, RelapseRisk

DISCHARGED = datetime(2026, 12, 1, 15, 30, tzinfo=UTC)
DAY = timedelta(days=1)
ROLES = ("care_coordinator", "clinical_supervisor", "program_director")
HOURS = (72, 24, 8)


# -- cadence ---------------------------------------------------------------------------------

def test_a_program_without_its_own_cadence_gets_the_default():
    assert cadence_for("iop-adult", {}) == (7, 30, 90, 180)
    assert cadence_for("iop-adult", {"iop-teen": (3, 14)}, (7, 30)) == (7, 30)


def test_a_programs_own_cadence_is_sorted_and_distinct():
    assert cadence_for("iop-teen", {"iop-teen": (30, 3, 14, 14)}) == (3, 14, 30)


@pytest.mark.parametrize("bad", [(0, 7), (-1,), ()])
def test_a_check_in_on_or_before_the_discharge_day_is_refused(bad):
    with pytest.raises(ValueError):
        cadence_for("p", {"p": bad}, bad or ())


def test_cadence_per_program_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("CONTINUUM_AFTERCARE_FOLLOW_UP_DAYS_BY_PROGRAM", '{"iop-teen": [3, 14]}')
    monkeypatch.setenv("CONTINUUM_AFTERCARE_REMAINING_FOLLOW_UPS_ON_RISK", '{"relapse": "cancel"}')
    s = AftercareSettings()
    assert cadence_for("iop-teen", s.follow_up_days_by_program, s.follow_up_days) == (3, 14)
    assert cadence_for("iop-adult", s.follow_up_days_by_program, s.follow_up_days) == (7, 30, 90, 180)
    assert remaining_follow_ups(RelapseRisk.RELAPSE, s.remaining_follow_ups_on_risk) is RemainingFollowUps.CANCEL


def test_escalation_roles_need_one_response_time_each(monkeypatch):
    monkeypatch.setenv("CONTINUUM_AFTERCARE_ESCALATION_ROLES", '["care_coordinator"]')
    with pytest.raises(ValueError):
        AftercareSettings()


# -- the 7 / 30-day windows -----------------------------------------------------------------------

def test_the_discharge_day_is_day_zero_whatever_the_hour():
    assert day_number(DISCHARGED, DISCHARGED.replace(hour=23, minute=59)) == 0
    assert day_number(DISCHARGED, datetime(2026, 12, 2, 0, 1, tzinfo=UTC)) == 1
    assert day_number(DISCHARGED, datetime(2026, 12, 8, 23, 0, tzinfo=UTC)) == 7


@pytest.mark.parametrize("completed,within7,within30", [
    (DISCHARGED + timedelta(hours=2), False, False),                  # same day: does not count
    (datetime(2026, 12, 2, 9, tzinfo=UTC), True, True),               # day 1
    (datetime(2026, 12, 8, 23, 59, tzinfo=UTC), True, True),          # day 7, late evening
    (datetime(2026, 12, 9, 0, 0, tzinfo=UTC), False, True),           # day 8
    (datetime(2026, 12, 31, 12, tzinfo=UTC), False, True),            # day 30
    (datetime(2027, 1, 1, 0, 0, tzinfo=UTC), False, False),           # day 31
])
def test_windows_count_days_after_the_discharge_day(completed, within7, within30):
    assert followed_up_within(DISCHARGED, [completed], 7) is within7
    assert followed_up_within(DISCHARGED, [completed], 30) is within30


def test_the_measure_leaves_out_discharges_whose_window_is_still_open():
    now = datetime(2026, 12, 20, tzinfo=UTC)
    discharges = [
        (DISCHARGED, [datetime(2026, 12, 5, tzinfo=UTC)]),           # met on day 4
        (DISCHARGED, []),                                            # window of 7 over, none
        (DISCHARGED, [datetime(2026, 12, 15, tzinfo=UTC)]),          # day 14: not within 7
        (datetime(2026, 12, 18, tzinfo=UTC), []),                    # 7-day window still open
        (datetime(2026, 12, 18, tzinfo=UTC), [datetime(2026, 12, 19, tzinfo=UTC)]),  # met early
        (DISCHARGED, [datetime(2026, 12, 25, tzinfo=UTC)]),          # completed after as_of: ignored
    ]
    m7 = follow_up_measure(discharges, 7, now)
    assert (m7.discharges, m7.with_follow_up, m7.pending) == (5, 2, 1)
    assert m7.share == 0.4
    m30 = follow_up_measure(discharges, 30, now)
    assert (m30.discharges, m30.with_follow_up, m30.pending) == (3, 3, 3)
    assert m30.share == 1.0
    assert follow_up_measure([], 7, now).share is None


def test_windows_with_short_days_for_tests():
    two_s = timedelta(seconds=2)
    start = datetime(2026, 12, 1, 0, 0, 1, tzinfo=UTC)   # day 0 is [0 s, 2 s)
    assert day_number(start, start + timedelta(seconds=0.9), two_s) == 0
    assert followed_up_within(start, [start + timedelta(seconds=14)], 7, two_s)
    assert not followed_up_within(start, [start + timedelta(seconds=16)], 7, two_s)


# -- grace and escalation -------------------------------------------------------------------

DUE = datetime(2026, 12, 8, 9, tzinfo=UTC)
GRACE = timedelta(days=3)


@pytest.mark.parametrize("status,now,outcome", [
    ("open", DUE + GRACE - timedelta(seconds=1), GraceOutcome.NOT_YET),
    ("open", DUE + GRACE, GraceOutcome.MISSED),
    ("scheduled", DUE + GRACE + DAY, GraceOutcome.MISSED),    # never opened: still due, still missed
    ("completed", DUE + GRACE + DAY, GraceOutcome.ANSWERED),
    ("cancelled", DUE + GRACE + DAY, GraceOutcome.ANSWERED),
    ("missed", DUE + GRACE + DAY, GraceOutcome.ALREADY_MISSED),  # a second check escalates nothing
])
def test_grace_window(status, now, outcome):
    assert grace_outcome(status, DUE, GRACE, now) is outcome


def test_a_first_miss_goes_to_the_care_coordinator():
    e = escalation_for([], ROLES, HOURS)
    assert (e.level, e.assignee_role, e.due_within) == (1, "care_coordinator", timedelta(hours=72))
    assert escalation_for(["completed"], ROLES, HOURS).level == 1


def test_misses_in_a_row_escalate_and_a_completed_check_in_resets():
    assert escalation_for(["missed"], ROLES, HOURS).assignee_role == "clinical_supervisor"
    e = escalation_for(["missed", "missed"], ROLES, HOURS)
    assert (e.level, e.assignee_role, e.due_within) == (3, "program_director", timedelta(hours=8))
    e = escalation_for(["missed", "missed", "missed", "missed"], ROLES, HOURS)
    assert (e.level, e.assignee_role) == (5, "program_director")   # beyond the roles: the last one
    assert escalation_for(["missed", "completed"], ROLES, HOURS).level == 1
    assert escalation_for(["missed", "cancelled"], ROLES, HOURS).level == 2


# -- the way back up -------------------------------------------------------------------------

def test_remaining_follow_ups_are_kept_by_default_and_cancelled_when_configured():
    for risk in RelapseRisk:
        assert remaining_follow_ups(risk, {}) is RemainingFollowUps.KEEP
    rule = {"safety": RemainingFollowUps.CANCEL}
    assert remaining_follow_ups(RelapseRisk.SAFETY, rule) is RemainingFollowUps.CANCEL
    assert remaining_follow_ups(RelapseRisk.AT_RISK, rule) is RemainingFollowUps.KEEP
    assert remaining_follow_ups(None, rule) is RemainingFollowUps.KEEP


def test_a_readmission_is_an_admission_in_another_episode():
    assert is_readmission(True, "ep-2", "ep-1")
    assert not is_readmission(True, "ep-1", "ep-1")   # the original admission, or its redelivery
    assert not is_readmission(False, "ep-2", "ep-1")  # assessed but referred out: follow-ups go on


# -- check-ins: when they are due and what an answer means ------------------------------------

DISCHARGED_MORNING = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
WELL = CheckIn(phq9_total=3, phq9_item9=0, substance_use_since_last_contact=False,
               engaged_with_step_down_provider=True, housing_stable=True, work_or_school_stable=True)


def test_default_cadence_is_day_7_30_90_180():
    due = follow_up_due_times(DISCHARGED_MORNING, (7, 30, 90, 180))
    assert [d for d, _ in due] == [7, 30, 90, 180]
    assert due[0][1] == DISCHARGED_MORNING + timedelta(days=7)
    assert due[-1][1] == DISCHARGED_MORNING + timedelta(days=180)


def test_short_days_for_demos():
    due = follow_up_due_times(DISCHARGED_MORNING, (30, 7), timedelta(seconds=2))
    assert due == [(7, DISCHARGED_MORNING + timedelta(seconds=14)), (30, DISCHARGED_MORNING + timedelta(seconds=60))]


@pytest.mark.parametrize("change,status,risk", [
    ({}, FollowUpStatus.STABLE, None),
    ({"phq9_total": 12}, FollowUpStatus.AT_RISK, RelapseRisk.AT_RISK),
    ({"engaged_with_step_down_provider": False}, FollowUpStatus.AT_RISK, RelapseRisk.AT_RISK),
    ({"substance_use_since_last_contact": True}, FollowUpStatus.RELAPSE, RelapseRisk.RELAPSE),
    ({"phq9_item9": 1}, FollowUpStatus.AT_RISK, RelapseRisk.SAFETY),
])
def test_check_in_outcome_and_the_way_back_up(change, status, risk):
    c = CheckIn(**{**WELL.__dict__, **change})
    assert check_in_status(c) is status
    assert relapse_risk(check_in_status(c), c) is risk


# -- due times in the program's local calendar (issue 15: answering on local day 7 counts) -----

def test_in_calendar_days_each_check_in_is_due_at_nine_local_on_its_local_day():
    from zoneinfo import ZoneInfo

    from services.aftercare.domain.follow_up_rules import follow_up_due_times

    ny = ZoneInfo("America/New_York")
    evening = datetime(2026, 3, 5, 23, 30, tzinfo=ny)  # 04:30 UTC on the 6th; local day 0 is the 5th
    due = dict(follow_up_due_times(evening, (7, 30), timedelta(days=1), ny))
    assert due[7].astimezone(ny) == datetime(2026, 3, 12, 9, 0, tzinfo=ny)  # after spring-forward (8 March)
    assert due[30].astimezone(ny) == datetime(2026, 4, 4, 9, 0, tzinfo=ny)
    brisbane = ZoneInfo("Australia/Brisbane")  # UTC+10, no daylight saving
    late = datetime(2026, 7, 1, 15, 0, tzinfo=UTC)  # 01:00 on the 2nd in Brisbane: local day 0 is the 2nd
    assert dict(follow_up_due_times(late, (7,), timedelta(days=1), brisbane))[7] == datetime(2026, 7, 8, 23, 0,
                                                                                             tzinfo=UTC)


def test_shortened_days_count_from_the_discharge_instant_whatever_the_zone():
    from zoneinfo import ZoneInfo

    from services.aftercare.domain.follow_up_rules import follow_up_due_times

    t0 = datetime(2026, 3, 5, 23, 30, tzinfo=UTC)
    assert follow_up_due_times(t0, (7,), timedelta(seconds=2), ZoneInfo("America/New_York")) == \
        [(7, t0 + timedelta(seconds=14))]
