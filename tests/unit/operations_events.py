"""A small synthetic history for the operations read-model tests: (event, meta) pairs."""

from datetime import UTC, date, datetime, time, timedelta

from services.contracts import events_aftercare as ac
from services.contracts import events_intake as it
from services.contracts import events_planning as pl
from services.contracts import events_scheduling as sc
from services.operations.domain.projection import Meta

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday
WINDOW = it.AvailabilityWindow(day="mon", start=time(18), end=time(21))


def meta(event, at: datetime, tenant: str = "net-a", program: str = "adult-mh") -> Meta:
    return Meta(event.event_type, tenant, program, at)


def journey(n: int, *, admitted: bool = True, attend: int = 2, miss: int = 1, discharge: bool = True,
            follow_up_days: float | None = 3, tenant: str = "net-a", program: str = "adult-mh") -> list:
    """One participant: referral, assessment, plan, a scheduled week, attendance, step-down,
    discharge, follow-ups; hours apart so the stage times are known."""
    p, ref, ep, plan = f"p-{n}", f"ref-{n}", f"ep-{n}", f"plan-{n}"
    h = lambda k: T0 + timedelta(hours=k)  # noqa: E731
    m = lambda e, k: (e, meta(e, h(k), tenant, program))  # noqa: E731
    out = [m(it.ReferralReceived(participant_id=p, referral_id=ref, source="self", received_at=h(0)), 0)]
    out.append(m(it.AssessmentCompleted(
        participant_id=p, assessment_id=f"asm-{n}", referral_id=ref, episode_id=ep, kind="initial",
        completed_at=h(2), scores=(), findings=(), availability=(WINDOW,),
        recommended_level_of_care="2.1" if admitted else "1", admitted_to_iop=admitted), 2))
    if not admitted:
        out.append(m(it.ReferredOut(participant_id=p, referral_id=ref, assessment_id=f"asm-{n}",
                                    recommended_level_of_care="1", reason_code="below_iop_threshold"), 2))
        return out
    out.append(m(pl.PlanCreated(
        participant_id=p, plan_id=plan, plan_version=1, episode_id=ep, assessment_id=f"asm-{n}",
        level_of_care="2.1", weekly_hours_target=10, weekly_hours_minimum=9, start_date=date(2026, 11, 2),
        expected_weeks=6, review_dates=(), interventions=(), availability=(WINDOW,), created_at=h(3)), 3))
    sessions = [sc.ScheduledSession(session_id=f"s-{n}-{i}", intervention_id="iv-1", modality="group_process",
                                    starts_at=h(24 * i + 9), ends_at=h(24 * i + 12), clinician_id="c-1",
                                    mode="in_person") for i in range(4)]
    out.append(m(sc.SessionsScheduled(participant_id=p, plan_id=plan, plan_version=1,
                                      week_start=date(2026, 11, 2), sessions=tuple(sessions),
                                      weekly_hours_scheduled=12, weekly_hours_required=9), 4))
    for i in range(attend):
        out.append(m(sc.SessionAttended(participant_id=p, session_id=f"s-{n}-{i}", plan_id=plan,
                                        modality="group_process", minutes_attended=180,
                                        attended_at=h(24 * i + 12)), 24 * i + 12))
    for i in range(attend, attend + miss):
        out.append(m(sc.SessionMissed(participant_id=p, session_id=f"s-{n}-{i}", plan_id=plan,
                                      modality="group_process", reason="no_show", recorded_at=h(24 * i + 12)),
                     24 * i + 12))
    if not discharge:
        return out
    out.append(m(pl.ReadyForStepDown(
        participant_id=p, plan_id=plan, episode_id=ep, current_level_of_care="2.1",
        recommended_level_of_care="1", sessions_attended=attend, hours_attended=3 * attend,
        reason_codes=("attended",), planned_discharge_date=date(2026, 11, 6), declared_at=h(100)), 100))
    out.append(m(ac.ParticipantDischarged(participant_id=p, episode_id=ep, discharged_on=date(2026, 11, 6),
                                          from_level_of_care="2.1", to_level_of_care="1",
                                          reason_code="stepped_down"), 101))
    for d in (7, 30):
        out.append(m(ac.FollowUpScheduled(participant_id=p, follow_up_id=f"fu-{n}-{d}", episode_id=ep,
                                          day_offset=d, due_at=h(101 + 24 * d), flow_run_id=f"run-{n}-{d}"), 102))
    if follow_up_days is not None:
        at = h(101 + 24 * follow_up_days)
        out.append(m(ac.FollowUpCompleted(participant_id=p, follow_up_id=f"fu-{n}-7", episode_id=ep,
                                          status="stable", phq9_total=4, completed_at=at), 101 + 24 * follow_up_days))
    return out


def cohort() -> list:
    return (journey(1) + journey(2, follow_up_days=20) + journey(3, admitted=False)
            + journey(4, discharge=False, attend=1, miss=0, program="adolescent-mh")
            + journey(5, tenant="net-b", follow_up_days=None)
            + [(it.SafetyRiskFlagged(participant_id="p-1", flag_id="flag-1", assessment_id="asm-1",
                                     severity="high", triggers=("phq9_item9",), flagged_at=T0 + timedelta(hours=2),
                                     respond_by=T0 + timedelta(hours=6)),
                Meta("continuum.intake.safety_risk_flagged.v1", "net-a", "adult-mh", T0 + timedelta(hours=2)))])
