"""Events -> read-model upserts. Pure: no Kafka, HTTP or database. Every event type of the
catalogue is counted; the ones the figures need also land in their tables. Times come from
the events (never the clock), so a replay gives the same rows as the live run."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.contracts import events_aftercare as ac
from services.contracts import events_intake as it
from services.contracts import events_planning as pl
from services.contracts import events_scheduling as sc
from services.contracts.base import Event
from services.contracts.codes import AssessmentKind

from .upsert import Upsert


@dataclass(frozen=True)
class Meta:
    """What the envelope says about an event."""

    event_type: str
    tenant_id: str
    program_id: str
    time: datetime


def _owner(e: Event, m: Meta) -> dict:
    return {"participant_id": e.participant_id, "tenant_id": m.tenant_id, "program_id": m.program_id}


def _referral(e: it.ReferralReceived, m: Meta) -> list[Upsert]:
    return [Upsert.of("referrals", {"referral_id": e.referral_id},
                      put={**_owner(e, m), "source": e.source, "prior_episode_id": e.prior_episode_id},
                      earliest={"received_at": e.received_at})]


def _assessment(e: it.AssessmentCompleted, m: Meta) -> list[Upsert]:
    if e.kind != AssessmentKind.INITIAL:
        return []
    ups = [Upsert.of("referrals", {"referral_id": e.referral_id},
                     put={**_owner(e, m), "episode_id": e.episode_id, "admitted": e.admitted_to_iop,
                          "assessed_level": e.recommended_level_of_care},
                     earliest={"assessed_at": e.completed_at})]
    if e.admitted_to_iop:
        ups.append(Upsert.of("episodes", {"episode_id": e.episode_id},
                             put={**_owner(e, m), "referral_id": e.referral_id,
                                  "level_of_care": e.recommended_level_of_care},
                             earliest={"admitted_at": e.completed_at}))
    return ups


def _referred_out(e: it.ReferredOut, m: Meta) -> list[Upsert]:
    return [Upsert.of("referrals", {"referral_id": e.referral_id},
                      put={**_owner(e, m), "referred_out_reason": e.reason_code},
                      earliest={"referred_out_at": m.time})]


def _safety(e: it.SafetyRiskFlagged | ac.CheckInSafetyRiskFlagged, m: Meta) -> list[Upsert]:
    return [Upsert.of("safety_flags", {"flag_id": e.flag_id},
                      put={**_owner(e, m), "severity": e.severity, "triggers": ",".join(e.triggers),
                           "flagged_at": e.flagged_at, "respond_by": e.respond_by,
                           "source": e.source or "assessment"})]


def _flag_acknowledged(e: ac.SafetyFlagAcknowledged | it.AssessmentSafetyFlagAcknowledged, m: Meta) -> list[Upsert]:
    return [Upsert.of("safety_flags", {"flag_id": e.flag_id},
                      put={**_owner(e, m), "severity": e.severity, "flagged_at": e.flagged_at},
                      earliest={"acknowledged_at": e.acknowledged_at})]


def _flag_resolved(e: ac.SafetyFlagResolved | it.AssessmentSafetyFlagResolved, m: Meta) -> list[Upsert]:
    return [Upsert.of("safety_flags", {"flag_id": e.flag_id},
                      put={**_owner(e, m), "severity": e.severity, "flagged_at": e.flagged_at,
                           "action_taken": e.action_taken},
                      earliest={"resolved_at": e.resolved_at})]


def _flag_escalated(e: ac.SafetyFlagEscalated | it.AssessmentSafetyFlagEscalated, m: Meta) -> list[Upsert]:
    """The highest level wins whatever the order; its role is put with it (levels only rise)."""
    return [Upsert.of("safety_flags", {"flag_id": e.flag_id}, put={**_owner(e, m), "severity": e.severity},
                      latest={"escalation_level": e.escalation_level,
                              "escalated_to": f"{e.escalation_level:02d}:{e.escalated_to}"})]


def _plan(e: pl.PlanCreated, m: Meta) -> list[Upsert]:
    return [
        Upsert.of("plans", {"plan_id": e.plan_id},
                  put={**_owner(e, m), "episode_id": e.episode_id, "level_of_care": e.level_of_care,
                       "weekly_hours_minimum": e.weekly_hours_minimum,
                       "weekly_hours_target": e.weekly_hours_target},
                  earliest={"planned_at": e.created_at}),
        Upsert.of("episodes", {"episode_id": e.episode_id},
                  put={**_owner(e, m), "plan_level_of_care": e.level_of_care},
                  earliest={"planned_at": e.created_at}),
    ]


def _step_down(e: pl.ReadyForStepDown, m: Meta) -> list[Upsert]:
    return [Upsert.of("episodes", {"episode_id": e.episode_id},
                      put={**_owner(e, m), "step_down_level": e.recommended_level_of_care},
                      earliest={"ready_for_step_down_at": e.declared_at})]


def _scheduled(e: sc.SessionsScheduled, m: Meta) -> list[Upsert]:
    """One placement may cover several plan weeks (``weeks``); each session files under its own week."""
    weeks = e.weeks or (sc.WeekHours(week_start=e.week_start, hours_scheduled=e.weekly_hours_scheduled,
                                     hours_required=e.weekly_hours_required),)
    ups = [Upsert.of("plans", {"plan_id": e.plan_id}, put=_owner(e, m), earliest={"scheduled_at": m.time})]
    ups += [Upsert.of("weeks", {"plan_id": e.plan_id, "plan_version": e.plan_version,
                                "week_start": w.week_start.isoformat()},
                      put={**_owner(e, m), "hours_scheduled": w.hours_scheduled,
                           "hours_required": w.hours_required}) for w in weeks]
    for s in e.sessions:
        ups.append(Upsert.of("sessions", {"session_id": s.session_id},
                             put={**_owner(e, m), "plan_id": e.plan_id, "modality": s.modality,
                                  "week_start": (s.week_start or e.week_start).isoformat(), "starts_at": s.starts_at,
                                  "minutes": round((s.ends_at - s.starts_at).total_seconds() / 60)},
                             earliest={"scheduled_at": m.time}))
    return ups


def _session_outcome(table_cols: Callable[[Any, Meta], dict]):
    def project(e, m: Meta) -> list[Upsert]:
        return [Upsert.of("sessions", {"session_id": e.session_id}, **table_cols(e, m))]
    return project


_attended = _session_outcome(lambda e, m: {
    "put": {**_owner(e, m), "plan_id": e.plan_id, "modality": e.modality,
            "minutes_attended": e.minutes_attended},
    "earliest": {"attended_at": e.attended_at}})
_missed = _session_outcome(lambda e, m: {
    "put": {**_owner(e, m), "plan_id": e.plan_id, "modality": e.modality, "missed_reason": e.reason},
    "earliest": {"missed_at": e.recorded_at}})
_cancelled = _session_outcome(lambda e, m: {
    "put": _owner(e, m), "earliest": {"cancelled_at": e.cancelled_at}})
_rescheduled = _session_outcome(lambda e, m: {"put": _owner(e, m), "add": {"reschedules": 1}})


def _below_minimum(e: sc.HoursBelowMinimum, m: Meta) -> list[Upsert]:
    return [Upsert.of("hours_alerts", {"plan_id": e.plan_id, "week_start": e.week_start.isoformat()},
                      put={**_owner(e, m), "hours_required": e.hours_required},
                      latest={"hours_attended": e.hours_attended, "hours_scheduled": e.hours_scheduled})]


def _discharged(e: ac.ParticipantDischarged, m: Meta) -> list[Upsert]:
    return [Upsert.of("episodes", {"episode_id": e.episode_id},
                      put={**_owner(e, m), "discharged_on": e.discharged_on.isoformat(),
                           "discharge_reason": e.reason_code, "step_down_level": e.to_level_of_care},
                      earliest={"discharged_at": m.time})]


def _follow_up_scheduled(e: ac.FollowUpScheduled, m: Meta) -> list[Upsert]:
    return [
        Upsert.of("follow_ups", {"follow_up_id": e.follow_up_id},
                  put={**_owner(e, m), "episode_id": e.episode_id, "day_offset": e.day_offset,
                       "due_at": e.due_at}, earliest={"scheduled_at": m.time}),
        Upsert.of("episodes", {"episode_id": e.episode_id}, put=_owner(e, m),
                  earliest={"follow_ups_scheduled_at": m.time}),
    ]


def _follow_up_completed(e: ac.FollowUpCompleted, m: Meta) -> list[Upsert]:
    return [Upsert.of("follow_ups", {"follow_up_id": e.follow_up_id},
                      put={**_owner(e, m), "episode_id": e.episode_id, "result": e.status},
                      earliest={"completed_at": e.completed_at})]


def _follow_up_missed(e: ac.FollowUpMissed, m: Meta) -> list[Upsert]:
    return [Upsert.of("follow_ups", {"follow_up_id": e.follow_up_id},
                      put={**_owner(e, m), "episode_id": e.episode_id},
                      earliest={"missed_at": e.missed_at}, latest={"escalation_level": e.escalation_level})]


def _aftercare_completed(e: ac.AftercareCompleted, m: Meta) -> list[Upsert]:
    return [Upsert.of("episodes", {"episode_id": e.episode_id}, put=_owner(e, m),
                      earliest={"aftercare_completed_at": e.completed_at})]


# each event type with the projection of that type: the event parameter is Any here (as Handler's)
PROJECTIONS: dict[type[Event], Callable[[Any, Meta], list[Upsert]]] = {
    it.ReferralReceived: _referral,
    it.AssessmentCompleted: _assessment,
    it.ReferredOut: _referred_out,
    it.SafetyRiskFlagged: _safety,
    it.AssessmentSafetyFlagAcknowledged: _flag_acknowledged,
    it.AssessmentSafetyFlagResolved: _flag_resolved,
    it.AssessmentSafetyFlagEscalated: _flag_escalated,
    pl.PlanCreated: _plan,
    pl.ReadyForStepDown: _step_down,
    sc.SessionsScheduled: _scheduled,
    sc.SessionAttended: _attended,
    sc.SessionMissed: _missed,
    sc.SessionCancelled: _cancelled,
    sc.SessionRescheduled: _rescheduled,
    sc.HoursBelowMinimum: _below_minimum,
    ac.ParticipantDischarged: _discharged,
    ac.FollowUpScheduled: _follow_up_scheduled,
    ac.FollowUpCompleted: _follow_up_completed,
    ac.FollowUpMissed: _follow_up_missed,
    ac.AftercareCompleted: _aftercare_completed,
    ac.CheckInSafetyRiskFlagged: _safety,
    ac.SafetyFlagAcknowledged: _flag_acknowledged,
    ac.SafetyFlagResolved: _flag_resolved,
    ac.SafetyFlagEscalated: _flag_escalated,
}


def project(event: Event, meta: Meta) -> list[Upsert]:
    """Every event is counted by type, tenant, program and day; most also land in a table."""
    count = Upsert.of("event_counts", {"event_type": meta.event_type, "tenant_id": meta.tenant_id,
                                       "program_id": meta.program_id, "day": meta.time.date().isoformat()},
                      add={"count": 1})
    specific = PROJECTIONS.get(type(event))
    return [count, *(specific(event, meta) if specific else [])]


@dataclass(frozen=True)
class DeadLetter:
    """A dead letter as read from a dead-letter topic (raw bytes, dlq_* headers)."""

    topic: str
    partition: int
    offset: int
    headers: dict[str, str]


def project_dead_letter(d: DeadLetter, reason_code: Callable[[str], str]) -> list[Upsert]:
    reason = d.headers.get("dlq_reason", "")
    return [Upsert.of("dead_letters", {"topic": d.topic, "partition": d.partition, "offset": d.offset},
                      put={"consumer": d.headers.get("dlq_consumer", "unknown"),
                           "reason_code": reason_code(reason), "reason": reason[:500],
                           "original_topic": d.headers.get("dlq_topic", ""),
                           # a header from anyone: cut to its column (PostgreSQL enforces lengths)
                           "event_type": d.headers["ce_type"][:255] if "ce_type" in d.headers else None,
                           "failed_at": d.headers.get("dlq_failed_at")})]
