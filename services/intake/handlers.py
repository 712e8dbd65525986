"""Intake's handlers: each takes a command or an event, changes intake's store and
writes the events it causes to the outbox, in the caller's transaction."""

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.contracts.codes import AssessmentKind, ReferralSource
from services.contracts.envelope import EventContext
from services.contracts.events_aftercare import RelapseRiskDetected
from services.contracts.events_intake import (
    AssessmentCompleted,
    AvailabilityWindow,
    InstrumentScore,
    ReferralReceived,
    ReferredOut,
    SafetyRiskFlagged,
)
from services.eventing.consumer import HandlerContext
from services.eventing.ids import new_id
from services.eventing.outbox import Outbox

from .commands import CompleteAssessment, ReceiveReferral
from .domain.decision import derived_findings, recommend_level, safety_finding
from .domain.instruments import score_gad7, score_phq9
from .tables import Assessment, Participant, Referral


class UnknownParticipant(LookupError):
    pass


class NoOpenReferral(LookupError):
    pass


@dataclass(frozen=True)
class ReferralAccepted:
    participant_id: str
    referral_id: str
    episode_id: str


async def receive_referral(session: AsyncSession, outbox: Outbox, cmd: ReceiveReferral) -> ReferralAccepted:
    pid = new_id("p")
    session.add(Participant(
        id=pid, tenant_id=cmd.tenant_id, program_id=cmd.program_id,
        given_name=cmd.participant.given_name, family_name=cmd.participant.family_name,
        date_of_birth=cmd.participant.date_of_birth, email=cmd.participant.email,
        phone=cmd.participant.phone,
    ))
    referral = await _open_referral(session, outbox, pid, cmd.source, None,
                                    EventContext.new(cmd.tenant_id, cmd.program_id))
    return ReferralAccepted(pid, referral.id, referral.episode_id)


async def _open_referral(session: AsyncSession, outbox: Outbox, pid: str, source: ReferralSource,
                         prior_episode_id: str | None, ctx: EventContext) -> Referral:
    now = datetime.now(UTC)
    referral = Referral(id=new_id("ref"), participant_id=pid, episode_id=new_id("ep"), source=source,
                        prior_episode_id=prior_episode_id, received_at=now)
    session.add(referral)
    outbox.add(ReferralReceived(participant_id=pid, referral_id=referral.id, source=source,
                                received_at=now, prior_episode_id=prior_episode_id), ctx)
    return referral


async def complete_assessment(session: AsyncSession, outbox: Outbox, participant_id: str,
                              cmd: CompleteAssessment) -> Assessment:
    participant = await session.get(Participant, participant_id)
    if participant is None:
        raise UnknownParticipant(participant_id)
    referral = await session.scalar(
        select(Referral).where(Referral.participant_id == participant_id)
        .order_by(Referral.received_at.desc()).limit(1)
    )
    if referral is None:
        raise NoOpenReferral(participant_id)
    ctx = EventContext.new(participant.tenant_id, participant.program_id)
    now = datetime.now(UTC)
    phq9, gad7 = score_phq9(cmd.phq9), score_gad7(cmd.gad7)
    safety = safety_finding(cmd.phq9, cmd.cssrs_positive, now)
    findings = set(cmd.findings) | derived_findings(phq9, gad7, safety)
    decision = recommend_level(phq9, gad7, findings, safety)
    assessment_id = new_id("asm")
    goal_ids = [new_id("goal") for _ in cmd.goals]
    if safety:  # its own event, at once, before the assessment completes
        outbox.add(SafetyRiskFlagged(
            participant_id=participant_id, flag_id=new_id("flag"), assessment_id=assessment_id,
            severity=safety.severity, triggers=safety.triggers, flagged_at=now,
            respond_by=safety.respond_by), ctx)
    scores = [InstrumentScore(instrument=r.instrument, total=r.total, band=r.band) for r in (phq9, gad7)]
    assessment = Assessment(
        id=assessment_id, participant_id=participant_id, referral_id=referral.id,
        episode_id=referral.episode_id, kind=cmd.kind,
        items={"phq9": cmd.phq9, "gad7": cmd.gad7, "cssrs_positive": cmd.cssrs_positive},
        scores=[s.model_dump(mode="json") for s in scores], findings=sorted(findings),
        narrative={"medical_history": cmd.medical_history, "symptoms": cmd.symptoms,
                   "challenges": cmd.challenges},
        goals=[{"goal_id": gid, "text": g.text} for gid, g in zip(goal_ids, cmd.goals, strict=True)],
        recommended_level=decision.level, admitted=decision.admit_to_iop,
        safety_flagged=safety is not None, completed_at=now,
    )
    session.add(assessment)
    referral.status = "admitted" if decision.admit_to_iop else "referred_out"
    outbox.add(AssessmentCompleted(
        participant_id=participant_id, assessment_id=assessment_id, referral_id=referral.id,
        episode_id=referral.episode_id, kind=cmd.kind, completed_at=now, scores=tuple(scores),
        findings=tuple(sorted(findings)), strengths=tuple(cmd.strengths), goal_ids=tuple(goal_ids),
        availability=tuple(AvailabilityWindow(day=w.day, start=w.start, end=w.end) for w in cmd.availability),
        commitments=tuple(cmd.commitments), attendance_mode=cmd.attendance_mode,
        adolescent=cmd.adolescent, recommended_level_of_care=decision.level,
        admitted_to_iop=decision.admit_to_iop), ctx)
    if not decision.admit_to_iop:
        outbox.add(ReferredOut(participant_id=participant_id, referral_id=referral.id,
                               assessment_id=assessment_id, recommended_level_of_care=decision.level,
                               reason_code=decision.reason_code), ctx)
    return assessment


async def on_relapse_risk(ctx: HandlerContext, event: RelapseRiskDetected) -> None:
    """The way back up: a re-referral linked to the earlier episode."""
    if await ctx.session.get(Participant, event.participant_id) is None:
        raise UnknownParticipant(event.participant_id)
    await _open_referral(ctx.session, ctx.outbox, event.participant_id,
                         ReferralSource.STEP_UP_FROM_AFTERCARE, event.episode_id,
                         EventContext.caused_by(ctx.cause))


HANDLERS = {RelapseRiskDetected: on_relapse_risk}

__all__ = ["HANDLERS", "AssessmentKind", "complete_assessment", "receive_referral"]
