"""The dashboard's figures from a known synthetic history."""

from datetime import datetime, timedelta

from services.operations.domain.figures import figures

from .operations_events import T0, cohort
from .test_operations_projection import rows_of

NOW = T0 + timedelta(days=40)


def rows() -> dict:
    return {t: list(r.values()) for t, r in rows_of(cohort()).items()}


def test_census_counts_admitted_and_not_discharged_by_program_and_level():
    f = figures(rows(), NOW)
    assert f["census"] == {"total": 1, "by_program_and_level": [
        {"program_id": "adolescent-mh", "level_of_care": "2.1", "participants": 1}]}
    flow = {d["day"]: d for d in f["admissions_and_discharges"]}
    assert flow["2026-11-02"]["admissions"] == 4
    assert flow["2026-11-06"]["discharges"] == 3


def test_sessions_and_attendance_rate():
    assert figures(rows(), NOW)["sessions"] == {
        "scheduled": 16, "attended": 7, "missed": 3, "cancelled": 0, "awaiting_attendance": 6,
        "attendance_rate": 0.7}


def test_pipeline_counts_and_times_between_stages():
    p = figures(rows(), NOW)["pipeline"]
    assert [s["reached"] for s in p["stages"]] == [5, 5, 4, 4, 3, 3, 3]
    assert p["referred_out"] == 1
    first = p["transitions"][0]
    assert (first["from"], first["to"], first["participants"], first["median_hours"]) == (
        "referred", "assessed", 5, 2.0)
    assert p["current_stage"] == {"follow_ups": 3, "referred_out": 1, "scheduled": 1}


def test_follow_up_completion_within_7_and_30_days():
    fu = figures(rows(), NOW)["follow_up_completion"]
    assert fu["discharged"] == 3
    assert fu["within_7_days"] == {"completed": 1, "eligible": 3, "pending": 0, "rate": 0.3333}
    assert fu["within_30_days"]["completed"] == 2 and fu["within_30_days"]["eligible"] == 3
    early = figures(rows(), T0 + timedelta(days=5))["follow_up_completion"]["within_7_days"]
    assert early == {"completed": 1, "eligible": 1, "pending": 2, "rate": 1.0}, "open windows are pending"


def test_hours_compliance_and_safety_flags():
    f = figures(rows(), NOW)
    h = f["hours_compliance"]
    assert (h["participant_weeks"], h["scheduled_meeting_minimum"], h["ended_weeks"],
            h["ended_weeks_attended_meeting_minimum"]) == (4, 4, 4, 0)
    s = f["safety_flags"]
    assert s["open"] == 1 and s["overdue"] == 1 and s["by_severity"] == {"high": 1}
    assert s["flags"][0]["age_hours"] == 40 * 24 - 2
    assert s["time_to_acknowledge"] == {} and "intake" in s["gap"]


def test_filters_by_tenant_and_program():
    assert figures(rows(), NOW)["filters"] == {"tenants": ["net-a", "net-b"],
                                               "programs": ["adolescent-mh", "adult-mh"]}
    b = figures(rows(), NOW, tenant="net-b")
    assert b["sessions"]["scheduled"] == 4 and b["pipeline"]["stages"][0]["reached"] == 1
    assert b["safety_flags"]["open"] == 0
    teen = figures(rows(), NOW, program="adolescent-mh")
    assert teen["census"]["total"] == 1 and teen["follow_up_completion"]["discharged"] == 0


def test_the_follow_up_figure_counts_the_programs_local_calendar_days():
    """As aftercare's measure (HEDIS FUH/FUM): the local discharge date is day 0 and does not count;
    an evening discharge in New York answered the next local morning is day 1, though under 24 h."""
    from zoneinfo import ZoneInfo

    from services.operations.domain.figures import follow_up_completion

    ny, brisbane = ZoneInfo("America/New_York"), ZoneInfo("Australia/Brisbane")
    out = datetime(2026, 3, 5, 23, 30, tzinfo=ny)  # spring-forward comes on 8 March

    def figure(answered: list[datetime], now: datetime, zone=ny, days: int = 7) -> dict:
        rows = {"episodes": [{"episode_id": "e1", "program_id": "p", "discharged_at": out}],
                "follow_ups": [{"episode_id": "e1", "completed_at": t} for t in answered]}
        return follow_up_completion(rows, now, lambda program: zone)[f"within_{days}_days"]

    later = out + timedelta(days=60)
    assert figure([out + timedelta(minutes=20)], later)["completed"] == 0, "day 0 does not count"
    assert figure([datetime(2026, 3, 6, 9, 0, tzinfo=ny)], later)["completed"] == 1, "day 1"
    assert figure([datetime(2026, 3, 12, 22, 0, tzinfo=ny)], later)["completed"] == 1, "day 7, late evening"
    assert figure([datetime(2026, 3, 13, 0, 30, tzinfo=ny)], later)["completed"] == 0, "day 8"
    assert figure([datetime(2026, 4, 4, 23, 0, tzinfo=ny)], later, days=30)["completed"] == 1, "day 30"
    assert figure([datetime(2026, 4, 5, 8, 0, tzinfo=ny)], later, days=30)["completed"] == 0, "day 31"
    assert figure([], datetime(2026, 3, 12, 23, 59, tzinfo=ny))["pending"] == 1, "day 7 still open"
    assert figure([], datetime(2026, 3, 13, 0, 1, tzinfo=ny))["eligible"] == 1, "over after local day 7"
    # the same instants in UTC+10: 23:30 in New York on the 5th is 14:30 on the 6th in Brisbane
    assert figure([datetime(2026, 3, 6, 9, 0, tzinfo=ny)], later, brisbane)["completed"] == 1, "day 1 there too"
    assert figure([datetime(2026, 3, 6, 8, 0, tzinfo=ny)], later, brisbane)["completed"] == 0, "day 0 there"
