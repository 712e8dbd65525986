from datetime import UTC, datetime, timedelta

import pytest

from services.contracts.codes import FollowUpStatus, RelapseRisk
from services.aftercare.domain.follow_up_rules import (
    CheckIn,
    check_in_status,
    follow_up_due_times,
    relapse_risk,
)

DISCHARGED = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
WELL = CheckIn(phq9_total=3, phq9_item9=0, substance_use_since_last_contact=False,
               engaged_with_step_down_provider=True, housing_stable=True, work_or_school_stable=True)


def test_default_cadence_is_day_7_30_90_180():
    due = follow_up_due_times(DISCHARGED, (7, 30, 90, 180))
    assert [d for d, _ in due] == [7, 30, 90, 180]
    assert due[0][1] == DISCHARGED + timedelta(days=7)
    assert due[-1][1] == DISCHARGED + timedelta(days=180)


def test_short_days_for_demos():
    due = follow_up_due_times(DISCHARGED, (30, 7), timedelta(seconds=2))
    assert due == [(7, DISCHARGED + timedelta(seconds=14)), (30, DISCHARGED + timedelta(seconds=60))]


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
