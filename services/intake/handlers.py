"""Intake's handlers: each takes a command or an event, changes intake's store and writes
the events it causes to the outbox, in the caller's transaction. Events carry ids, codes,
scores and times; names, birth dates, contacts and narrative stay here. The goals in the
participant's own words travel, sealed for the participant (``services.privacy``)."""

import asyncio
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.contracts.base import Actor, Event
from services.contracts.codes import (
    AssessmentKind,
    AttendanceMode,
    Instrument,
    LevelOfCare,
    ReferralSource,
    RiskSeverity,
    SafetySource,
)
from services.contracts.envelope import EventContext
from services.contracts.events_aftercare import RelapseRiskDetected
from services.contracts.events_intake import (
    AssessmentCompleted,
    AvailabilityWindow,
    DimensionRating,
    GoalStatement,
    InstrumentScore,
    LevelOfCareOverride,
    ReferralReceived,
    ReferredOut,
    SafetyRiskFlagged,
    SectionSignature,
)
from services.eventing.consumer import Handler, HandlerContext
from services.eventing.ids import new_id
from services.eventing.logging import get_logger
from services.eventing.outbox import Outbox
from services.privacy.ports import KeyManagement, ShreddedKey
from services.privacy.sealing import goal_field, seal
from services.web.refusals import Conflict, NotFound, NotPermitted, Rejected

from .actors import staff_role
from .commands import (
    AuditC,
    CompleteAssessment,
    CssrsScreener,
    Dast10,
    Gad7,
    OpenAssessment,
    Phq9,
    ReceiveReferral,
    Strict,
)
from .domain import asam
from .domain.findings import derived_findings
from .domain.instruments import InstrumentResult, score_audit_c, score_cssrs, score_dast10, score_gad7, score_phq9
from .domain.level_of_care import Decision, NeedsConfirmation, Recommendation, decide, recommend
from .domain.safety import SafetyFinding, combined, cssrs_safety, more_severe, phq9_safety
from .domain.sections import (
    DECIDING_ROLES,
    Section,
    WrongRole,
    check_may_sign,
    missing_for_completion,
)
from .tables import (
    AdditionalInstrumentAnswer,
    Assessment,
    AssessmentSection,
    InstrumentResponse,
    Participant,
    Referral,
    SafetyFlag,
)

log = get_logger(__name__)

class UnknownParticipant(NotFound):
    pass


class UnknownAssessment(NotFound):
    pass


class Incomplete(Rejected):
    """The assessment lacks required sections or instruments; names them."""


AWAITING, ADMITTED, REFERRED_OUT = "awaiting_assessment", "admitted", "referred_out"


def _now() -> datetime:
    return datetime.now(UTC)


def _ctx(participant: Participant) -> EventContext:
    return EventContext.new(participant.tenant_id, participant.program_id)


# --- referrals ---------------------------------------------------------------------------


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
    assert cmd.tenant_id is not None and cmd.program_id is not None  # the API scopes it to the caller's
    referral = _open_referral(session, outbox, pid, cmd.source, None,
                              EventContext.new(cmd.tenant_id, cmd.program_id), reason=cmd.reason)
    return ReferralAccepted(pid, referral.id, referral.episode_id)


def _open_referral(session: AsyncSession, outbox: Outbox, pid: str, source: ReferralSource,
                   prior_episode_id: str | None, ctx: EventContext, reason: str = "") -> Referral:
    now = _now()
    referral = Referral(id=new_id("ref"), participant_id=pid, episode_id=new_id("ep"), source=source,
                        prior_episode_id=prior_episode_id, received_at=now, reason=reason or None)
    session.add(referral)
    outbox.add(ReferralReceived(participant_id=pid, referral_id=referral.id, source=source, received_at=now,
                                prior_episode_id=prior_episode_id, episode_id=referral.episode_id), ctx)
    return referral


async def on_relapse_risk(ctx: HandlerContext, event: RelapseRiskDetected) -> None:
    """The way back up: a re-referral linked to the earlier episode."""
    if await ctx.session.get(Participant, event.participant_id) is None:
        raise UnknownParticipant(f"unknown participant: {event.participant_id}")
    _open_referral(ctx.session, ctx.outbox, event.participant_id, ReferralSource.STEP_UP_FROM_AFTERCARE,
                   event.episode_id, EventContext.caused_by(ctx.cause))


HANDLERS: dict[type[Event], Handler] = {RelapseRiskDetected: on_relapse_risk}


# --- opening an assessment ---------------------------------------------------------------


async def _participant(session: AsyncSession, pid: str) -> Participant:
    participant = await session.get(Participant, pid)
    if participant is None:
        raise UnknownParticipant(f"unknown participant: {pid}")
    return participant


async def _latest_referral(session: AsyncSession, pid: str) -> Referral | None:
    return await session.scalar(select(Referral).where(Referral.participant_id == pid)
                                .order_by(Referral.received_at.desc()).limit(1))


async def open_assessment(session: AsyncSession, pid: str, cmd: OpenAssessment) -> Assessment:
    await _participant(session, pid)
    referral = await _latest_referral(session, pid)
    wanted = AWAITING if cmd.kind is AssessmentKind.INITIAL else ADMITTED
    if referral is None or referral.status != wanted:
        raise Conflict(f"participant {pid} has no referral awaiting assessment" if wanted == AWAITING
                       else f"participant {pid} has no admitted episode to re-assess")
    already = await session.scalar(select(Assessment.id).where(
        Assessment.referral_id == referral.id, Assessment.status == "open", Assessment.kind == cmd.kind))
    if already:
        raise Conflict(f"assessment {already} of this kind is already open for this referral",
                       assessment_id=already)
    assessment = Assessment(id=new_id("asm"), participant_id=pid, referral_id=referral.id,
                            episode_id=referral.episode_id, kind=cmd.kind, status="open", opened_at=_now())
    session.add(assessment)
    return assessment


async def _open(session: AsyncSession, assessment_id: str) -> Assessment:
    assessment = await session.get(Assessment, assessment_id)
    if assessment is None:
        raise UnknownAssessment(f"unknown assessment: {assessment_id}")
    if assessment.status != "open":
        raise Conflict(f"assessment {assessment_id} is already {assessment.status}")
    return assessment


def _check_role(section: Section, by: Actor) -> None:
    """The sign-off rule (domain/sections.py) on the role the caller's token acts in."""
    role = staff_role(by.role)
    if role is None:
        raise NotPermitted(f"a {by.role} may not sign the {section.value} section", section=section.value,
                           role=by.role)
    try:
        check_may_sign(section, role)
    except WrongRole as exc:
        raise NotPermitted(str(exc), section=section.value, role=by.role) from None


# --- sections ----------------------------------------------------------------------------


async def _section(session: AsyncSession, assessment_id: str, section: Section) -> AssessmentSection | None:
    return await session.scalar(select(AssessmentSection).where(
        AssessmentSection.assessment_id == assessment_id, AssessmentSection.section == section))


async def record_section(session: AsyncSession, assessment_id: str, section: Section, cmd: Strict,
                         by: Actor) -> AssessmentSection:
    """Record (or, until signed, correct) one discipline's section, by someone whose role may sign it."""
    await _open(session, assessment_id)
    _check_role(section, by)
    content = cmd.model_dump(mode="json")
    row = await _section(session, assessment_id, section)
    if row is not None and row.signed_at is not None:
        raise Conflict(f"the {section.value} section is signed and can no longer change")
    if row is None:
        row = AssessmentSection(assessment_id=assessment_id, section=section, content=content,
                                recorded_by=by.id, recorded_at=_now())
        session.add(row)
    else:
        row.content, row.recorded_by, row.recorded_at = content, by.id, _now()
    return row


async def sign_section(session: AsyncSession, assessment_id: str, section: Section, by: Actor) -> AssessmentSection:
    await _open(session, assessment_id)
    _check_role(section, by)
    row = await _section(session, assessment_id, section)
    if row is None:
        raise Conflict(f"the {section.value} section has not been recorded yet")
    if row.signed_at is None:  # signing twice changes nothing
        row.signed_by, row.signed_role, row.signed_at = by.id, by.role, _now()
    return row


# --- instruments -------------------------------------------------------------------------

InstrumentCommand = Phq9 | Gad7 | AuditC | Dast10 | CssrsScreener


def _score(instrument: Instrument, cmd: InstrumentCommand,
           now: datetime) -> tuple[InstrumentResult, SafetyFinding | None]:
    match cmd:
        case Phq9():
            return score_phq9(cmd.items), phq9_safety(cmd.items, now)
        case Gad7():
            return score_gad7(cmd.items), None
        case AuditC():
            return score_audit_c(cmd.items, cmd.sex), None
        case Dast10():
            return score_dast10(cmd.answers), None
        case CssrsScreener():
            return score_cssrs(cmd.answers()), cssrs_safety(cmd.answers(), now)
    raise ValueError(f"no scoring for {instrument}")


@dataclass(frozen=True)
class Scored:
    result: InstrumentResult
    flag: SafetyFlag | None
    additional: bool = False  # answered after the assessment completed: kept and flagged, nothing else

    def __iter__(self):  # (result, flag), as before
        return iter((self.result, self.flag))


async def score_instrument(session: AsyncSession, outbox: Outbox, assessment_id: str, instrument: Instrument,
                           cmd: InstrumentCommand, by: Actor) -> Scored:
    """Score one instrument, administered by ``by``; a safety finding is its own event, at once, before the
    assessment completes (one per instrument; re-scoring raises another only when worse).
    An answer after the assessment completed is never refused: it is kept as an additional
    answer and its safety finding flagged (docs/safety.md); the decision stands."""
    existing = await session.get(Assessment, assessment_id)
    if existing is not None and existing.status == "completed":
        return await _additional_answer(session, outbox, existing, instrument, cmd, by)
    assessment = await _open(session, assessment_id)
    now = _now()
    result, finding = _score(instrument, cmd, now)
    answers = cmd.model_dump(mode="json")
    row = await session.scalar(select(InstrumentResponse).where(
        InstrumentResponse.assessment_id == assessment_id, InstrumentResponse.instrument == instrument))
    if row is None:
        session.add(InstrumentResponse(assessment_id=assessment_id, instrument=instrument, answers=answers,
                                       total=result.total, band=result.band,
                                       administered_by=by.id, scored_at=now))
    else:
        row.answers, row.total, row.band, row.scored_at = answers, result.total, result.band, now
        row.administered_by = by.id
    flag = None
    if finding is not None:
        raised = (await session.scalars(select(SafetyFlag.severity).where(
            SafetyFlag.assessment_id == assessment_id, SafetyFlag.instrument == instrument))).all()
        if all(more_severe(finding.severity, RiskSeverity(s)) for s in raised):
            flag = await _raise_flag(session, outbox, assessment, instrument, finding, now)
    return Scored(result, flag)


async def _raise_flag(session: AsyncSession, outbox: Outbox, assessment: Assessment, instrument: Instrument,
                      finding: SafetyFinding, now: datetime) -> SafetyFlag:
    participant = await _participant(session, assessment.participant_id)
    flag = SafetyFlag(id=new_id("flag"), assessment_id=assessment.id, instrument=instrument,
                      participant_id=participant.id, episode_id=assessment.episode_id,
                      tenant_id=participant.tenant_id, program_id=participant.program_id,
                      severity=finding.severity, triggers=list(finding.triggers),
                      disposition=finding.disposition, flagged_at=now, respond_by=finding.respond_by,
                      current_deadline=finding.respond_by, status="open", escalation_level=0)
    session.add(flag)
    assessment.safety_flagged = True
    outbox.add(SafetyRiskFlagged(
        participant_id=assessment.participant_id, flag_id=flag.id, assessment_id=assessment.id,
        severity=finding.severity, triggers=finding.triggers, flagged_at=now,
        respond_by=finding.respond_by, instrument=instrument, episode_id=assessment.episode_id,
        source=SafetySource.ASSESSMENT, disposition=finding.disposition),
        _ctx(participant))
    log.warning("safety.flagged", participant_id=assessment.participant_id, assessment_id=assessment.id,
                flag_id=flag.id, severity=str(finding.severity), respond_by=finding.respond_by.isoformat())
    return flag


async def _additional_answer(session: AsyncSession, outbox: Outbox, assessment: Assessment,
                             instrument: Instrument, cmd: InstrumentCommand, by: Actor) -> Scored:
    now = _now()
    result, finding = _score(instrument, cmd, now)
    flag = await _raise_flag(session, outbox, assessment, instrument, finding, now) if finding else None
    session.add(AdditionalInstrumentAnswer(
        assessment_id=assessment.id, instrument=instrument, answers=cmd.model_dump(mode="json"),
        total=result.total, band=result.band, administered_by=by.id, received_at=now,
        safety_flag_id=flag.id if flag else None))
    return Scored(result, flag, additional=True)


# --- evaluation and completion -----------------------------------------------------------


@dataclass(frozen=True)
class Evaluation:
    scores: dict[Instrument, InstrumentResult]
    safety: SafetyFinding | None
    ratings: dict[asam.Dimension, int]
    rule: Recommendation
    findings: tuple[str, ...]
    sections: dict[Section, dict]
    signatures: tuple[SectionSignature, ...]
    flag_ids: tuple[str, ...]


async def _sections_in_force(session: AsyncSession, assessment: Assessment) -> tuple[dict[Section, dict], list]:
    """This assessment's signed sections; for a re-assessment, the sections it did not
    repeat carry over from the episode's earlier assessments (latest first)."""
    rows = (await session.scalars(select(AssessmentSection).join(
        Assessment, Assessment.id == AssessmentSection.assessment_id).where(
        Assessment.episode_id == assessment.episode_id, AssessmentSection.signed_at.is_not(None),
        (Assessment.id == assessment.id) | (Assessment.status == "completed"))
        .order_by(AssessmentSection.signed_at.desc()))).all()
    own = [r for r in rows if r.assessment_id == assessment.id]
    chosen: dict[Section, AssessmentSection] = {}
    for r in [*own, *rows]:
        chosen.setdefault(Section(r.section), r)
    return {s: r.content for s, r in chosen.items()}, own


async def evaluate(session: AsyncSession, assessment: Assessment) -> Evaluation:
    """The recommendation the rules give for an assessment whose parts are all there."""
    own_sections = set((await session.scalars(select(AssessmentSection.section).where(
        AssessmentSection.assessment_id == assessment.id, AssessmentSection.signed_at.is_not(None)))).all())
    responses = (await session.scalars(select(InstrumentResponse).where(
        InstrumentResponse.assessment_id == assessment.id))).all()
    kind = AssessmentKind(assessment.kind)
    missing_sections, missing_instruments = missing_for_completion(
        kind, {Section(s) for s in own_sections}, {Instrument(r.instrument) for r in responses})
    if missing_sections or missing_instruments:
        parts = [f"section {s.value} is not signed" for s in missing_sections] + [
            f"instrument {i.value} is not scored" for i in missing_instruments]
        raise Incomplete(f"assessment {assessment.id} cannot complete: " + "; ".join(parts),
                         missing_sections=[s.value for s in missing_sections],
                         missing_instruments=[i.value for i in missing_instruments])
    sections, own_rows = await _sections_in_force(session, assessment)
    scores = {Instrument(r.instrument): InstrumentResult(Instrument(r.instrument), r.total, r.band) for r in responses}
    flags = (await session.scalars(select(SafetyFlag).where(SafetyFlag.assessment_id == assessment.id)
                                   .order_by(SafetyFlag.flagged_at))).all()
    safety = combined([SafetyFinding(RiskSeverity(f.severity), tuple(f.triggers), f.respond_by) for f in flags])
    referral = await session.get(Referral, assessment.referral_id)
    assert referral is not None  # an assessment's referral (a foreign key)
    clinical, medical = sections[Section.CLINICAL_INTERVIEW], sections[Section.PSYCHIATRIC_MEDICAL]
    environment = asam.RecoveryEnvironment(sections[Section.PSYCHOSOCIAL]["recovery_environment"])
    inputs = asam.AsamInputs(
        withdrawal=asam.WithdrawalRisk(sections[Section.SUBSTANCE_USE]["withdrawal_risk"]),
        medical=asam.MedicalStability(medical["medical_stability"]),
        psychiatric=asam.PsychiatricStability(medical["psychiatric_stability"]),
        readiness=asam.ReadinessToChange(clinical["readiness_to_change"]),
        environment=environment, scores=scores, safety=safety,
        stepped_back_up=referral.source == ReferralSource.STEP_UP_FROM_AFTERCARE)
    ratings = asam.rate_dimensions(inputs)
    support = asam.dimension_support(inputs, set(clinical["findings"]))
    findings = set(clinical["findings"]) | {
        f.value for f in derived_findings(scores, safety, ratings[asam.Dimension.RECOVERY_ENVIRONMENT])}
    signatures = tuple(SectionSignature(section=r.section, staff_id=r.signed_by, role=r.signed_role,
                                        signed_at=r.signed_at, actor=Actor(id=r.signed_by, role=r.signed_role))
                       for r in own_rows)
    return Evaluation(scores, safety, ratings, recommend(ratings, safety, support), tuple(sorted(findings)),
                      sections, signatures, tuple(f.id for f in flags))


def _age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def _sealed_goals(keys: KeyManagement, participant_id: str, assessment_id: str,
                  goals: list[dict]) -> tuple[GoalStatement, ...]:
    """Each goal's words sealed for the participant, bound to its goal id."""
    ids = [f"{assessment_id}-goal{n}" for n in range(1, len(goals) + 1)]
    return tuple(GoalStatement(goal_id=gid, text=seal(keys, participant_id, goal_field(gid), g["text"]))
                 for gid, g in zip(ids, goals, strict=True))


async def complete_assessment(session: AsyncSession, outbox: Outbox, assessment_id: str,
                              cmd: CompleteAssessment, keys: KeyManagement, by: Actor) -> tuple[Assessment, Decision]:
    """Completed by ``by`` (the caller), whose role must be one of DECIDING_ROLES."""
    assessment = await _open(session, assessment_id)
    if staff_role(by.role) not in DECIDING_ROLES:
        raise NotPermitted(f"a {by.role} may not complete an assessment; it needs one of: "
                           + ", ".join(sorted(r.value for r in DECIDING_ROLES)), role=by.role)
    ev = await evaluate(session, assessment)
    override = cmd.override
    try:
        decision = decide(ev.rule, override.level_of_care if override else None,
                          override.reason_code if override else None)
    except NeedsConfirmation as exc:
        raise Incomplete(f"override: the {ev.rule.level.value} recommendation needs a clinician's confirmation "
                         f"({', '.join(exc.reasons)}): send override with level_of_care "
                         f"{ev.rule.level.value} and a reason code to admit, or another level",
                         field="override", needs_confirmation=list(exc.reasons)) from None
    participant = await _participant(session, assessment.participant_id)
    referral = await session.get(Referral, assessment.referral_id)
    assert referral is not None  # an assessment's referral (a foreign key)
    now = _now()
    kind = AssessmentKind(assessment.kind)
    scores = tuple(InstrumentScore(instrument=r.instrument, total=r.total, band=r.band) for r in ev.scores.values())
    goals = await asyncio.to_thread(  # the key store is a file shared by the deployment: off the loop
        _sealed_goals, keys, participant.id, assessment.id, ev.sections[Section.CLINICAL_INTERVIEW].get("goals", []))
    psychosocial = ev.sections[Section.PSYCHOSOCIAL]
    assessment.status, assessment.completed_at, assessment.completed_by = "completed", now, by.id
    assessment.scores = [s.model_dump(mode="json") for s in scores]
    assessment.findings = list(ev.findings)
    assessment.dimensions = {d.value: r for d, r in ev.ratings.items()}
    assessment.rationale = list(ev.rule.rationale)
    assessment.rule_level, assessment.recommended_level = ev.rule.level.value, decision.level.value
    assessment.admitted = decision.admit_to_iop
    if (decision.overridden or decision.confirmed) and override:  # a confirmation is kept like an override
        assessment.override_reason_code, assessment.override_note = override.reason_code, override.note or None
        assessment.overridden_by = by.id
    ctx = _ctx(participant)
    outbox.add(AssessmentCompleted(
        participant_id=participant.id, assessment_id=assessment.id, referral_id=referral.id,
        episode_id=assessment.episode_id, kind=kind, completed_at=now, scores=scores,
        findings=ev.findings, strengths=tuple(ev.sections[Section.CLINICAL_INTERVIEW].get("strengths", [])),
        goal_ids=tuple(g.goal_id for g in goals), goals=goals,
        availability=tuple(AvailabilityWindow(**w) for w in psychosocial["availability"]),
        commitments=tuple(psychosocial.get("commitments", [])),
        attendance_mode=AttendanceMode(psychosocial.get("attendance_mode", "either")),
        adolescent=_age_on(participant.date_of_birth, now.date()) < 18,
        recommended_level_of_care=decision.level, admitted_to_iop=decision.admit_to_iop,
        dimensions=tuple(DimensionRating(dimension=d, rating=r) for d, r in ev.ratings.items()),
        rationale_codes=ev.rule.rationale,
        override=LevelOfCareOverride(rule_level_of_care=ev.rule.level, reason_code=override.reason_code,
                                     overridden_by=by.id) if decision.overridden and override else None,
        safety_flag_ids=ev.flag_ids, signatures=ev.signatures,
        confirmed_by=by.id if decision.confirmed else None, completed_by=by), ctx)
    if kind is AssessmentKind.INITIAL:
        referral.status = ADMITTED if decision.admit_to_iop else REFERRED_OUT
        if not decision.admit_to_iop:
            outbox.add(ReferredOut(participant_id=participant.id, referral_id=referral.id,
                                   assessment_id=assessment.id, recommended_level_of_care=decision.level,
                                   reason_code=decision.reason_code, rationale_codes=ev.rule.rationale,
                                   episode_id=assessment.episode_id), ctx)
    # a re-assessment informs planning's progress review (step up or down is planning's call)
    return assessment, decision


# --- crypto-shredding -----------------------------------------------------------------


async def shred_data_keys(session: AsyncSession, keys: KeyManagement, pid: str) -> list[ShreddedKey]:
    """Delete the participant's data key: every sealed copy of their words, on every topic and
    in every consumer's store, becomes unreadable. Intake's own record is not touched (it is
    the clinical record, kept under its retention rules). Shredding again changes nothing."""
    await _participant(session, pid)
    shredded = await asyncio.to_thread(keys.shred, pid)
    log.warning("data_key.shredded", participant_id=pid, key_ids=[k.key_id for k in shredded])
    return shredded


__all__ = ["HANDLERS", "LevelOfCare", "complete_assessment", "open_assessment", "receive_referral",
           "record_section", "score_instrument", "shred_data_keys", "sign_section"]
