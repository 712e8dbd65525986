"""Safety flags on the dashboard: aftercare's flags and their acknowledgement, resolution and
escalation land in the read model in any order; overdue flags come first; time to acknowledge
and to resolve per severity."""

import itertools
from datetime import timedelta

from services.contracts import events_aftercare as ac
from services.contracts import events_intake as it
from services.operations.domain.figures import safety_flags

from .operations_events import T0, meta
from .test_operations_projection import rows_of

H = lambda k: T0 + timedelta(hours=k)  # noqa: E731


def flagged(n: int, severity: str, at, respond_by) -> ac.CheckInSafetyRiskFlagged:
    return ac.CheckInSafetyRiskFlagged(
        participant_id=f"p-{n}", flag_id=f"sflag-{n}", episode_id=f"ep-{n}", follow_up_id=f"fu-ep-{n}-d30",
        follow_up_status="cancelled", severity=severity, triggers=("phq9_item9",),
        disposition="same_day_suicide_risk_assessment", phq9_item9=2, flagged_at=at, respond_by=respond_by)


def history() -> list:
    f1 = flagged(1, "high", H(0), H(1))           # answered in 30 min, resolved in 2 h
    f2 = flagged(2, "high", H(0), H(1))           # nobody answers: escalated twice
    f3 = flagged(3, "moderate", H(0), H(24))      # open, not yet due
    intake = it.SafetyRiskFlagged(participant_id="p-4", flag_id="flag-4", assessment_id="asm-4", severity="imminent",
                                  triggers=("cssrs_imminent_risk",), flagged_at=H(0),
                                  respond_by=H(0) + timedelta(minutes=15))
    ack = ac.SafetyFlagAcknowledged(participant_id="p-1", flag_id="sflag-1", episode_id="ep-1", severity="high",
                                    acknowledged_by="staff-clin-7", acknowledged_at=H(0.5), flagged_at=H(0))
    res = ac.SafetyFlagResolved(participant_id="p-1", flag_id="sflag-1", episode_id="ep-1", severity="high",
                                action_taken="safety_plan", resolved_by="staff-clin-7", resolved_at=H(2),
                                flagged_at=H(0))
    esc = [ac.SafetyFlagEscalated(participant_id="p-2", flag_id="sflag-2", episode_id="ep-2", severity="high",
                                  escalation_level=n, escalated_to=role, overdue_since=H(n), escalated_at=H(n),
                                  respond_by=H(n + 0.5)) for n, role in ((1, "on_call_clinician"),
                                                                         (2, "clinical_supervisor"))]
    intake_esc = it.AssessmentSafetyFlagEscalated(
        participant_id="p-4", flag_id="flag-4", episode_id="ep-4", severity="imminent", escalation_level=1,
        escalated_to="on_call_clinician", overdue_since=H(0.25), escalated_at=H(0.25), respond_by=H(0.75))
    return [(e, meta(e, H(0))) for e in (f1, f2, f3, intake, ack, res, *esc, intake_esc)]


def table(events) -> dict:
    return {t: list(r.values()) for t, r in rows_of(events).items()}


def test_overdue_first_then_most_severe_and_time_to_answer_per_severity():
    s = safety_flags(table(history()), H(3))
    assert (s["raised"], s["open"], s["resolved"], s["overdue"], s["unacknowledged"]) == (4, 3, 1, 2, 3)
    assert [f["flag_id"] for f in s["flags"]] == ["flag-4", "sflag-2", "sflag-3"]
    assert [f["overdue"] for f in s["flags"]] == [True, True, False]
    escalated = s["flags"][1]
    assert (escalated["escalation_level"], escalated["escalated_to"], escalated["source"]) == (
        2, "clinical_supervisor", "aftercare_check_in")
    assert s["flags"][0]["source"] == "assessment" and s["flags"][0]["escalated_to"] == "on_call_clinician"
    assert s["time_to_acknowledge"] == {"high": {"flags": 1, "median_minutes": 30.0, "max_minutes": 30.0}}
    assert s["time_to_resolve"] == {"high": {"flags": 1, "median_minutes": 120.0, "max_minutes": 120.0}}


def test_an_acknowledged_flag_is_not_overdue_but_stays_open_until_resolved():
    events = [e for e in history() if not isinstance(e[0], ac.SafetyFlagResolved)]
    s = safety_flags(table(events), H(3))
    one = next(f for f in s["flags"] if f["flag_id"] == "sflag-1")
    assert one["status"] == "acknowledged" and not one["overdue"]


def test_the_rows_are_the_same_in_any_order():
    events = history()
    want = rows_of(events)
    for order in itertools.islice(itertools.permutations(events), 0, 400, 7):
        assert rows_of(list(order)) == want


def test_an_intake_flag_acknowledged_and_resolved_by_intakes_events():
    events = history() + [
        (e, meta(e, H(0))) for e in (
            it.AssessmentSafetyFlagAcknowledged(participant_id="p-4", flag_id="flag-4", episode_id="ep-4",
                                                severity="imminent", acknowledged_by="staff-psy-1",
                                                acknowledged_at=H(0.1), flagged_at=H(0)),
            it.AssessmentSafetyFlagResolved(participant_id="p-4", flag_id="flag-4", episode_id="ep-4",
                                            severity="imminent", action_taken="emergency_referral",
                                            resolved_by="staff-psy-1", resolved_at=H(0.5), flagged_at=H(0)))]
    s = safety_flags(table(events), H(3))
    assert "flag-4" not in [f["flag_id"] for f in s["flags"]]
    assert s["time_to_acknowledge"]["imminent"] == {"flags": 1, "median_minutes": 6.0, "max_minutes": 6.0}
    assert s["time_to_resolve"]["imminent"]["median_minutes"] == 30.0
    assert list(s["time_to_resolve"]) == ["imminent", "high"], "most severe first"
