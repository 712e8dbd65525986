"""Planning's handlers: a plan from an initial assessment; revisions and signatures through
the API; progress reviews on re-assessments, attendance, goals met, safety flags and
clinicians' requests. Each changes planning's store and writes the events it causes to the
outbox in the caller's transaction. Inputs that cannot be applied are parked with their
reason; inputs for a participant planning has never seen raise (and are dead-lettered)."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.contracts.base import Actor, Event
from services.contracts.codes import AssessmentKind, Instrument, ReviewDecision, RiskSeverity, SignerRole
from services.contracts.envelope import EventContext
from services.contracts.events_intake import AssessmentCompleted, AssessmentSafetyFlagResolved, SafetyRiskFlagged
from services.contracts.events_planning import (
    PlanCreated,
    PlannedIntervention,
    PlanRevised,
    PlanSignature,
    PlanSignatureKind,
    PlanSigned,
    ProgressReviewed,
    ReadyForStepDown,
    StepUpRecommended,
    _PlanBody,
)
from services.contracts.events_scheduling import SessionAttended, SessionMissed
from services.eventing.consumer import Handler, HandlerContext
from services.eventing.ids import new_id
from services.eventing.logging import get_logger
from services.eventing.outbox import Outbox
from services.web.refusals import Conflict, NotFound, NotPermitted, Rejected

from .commands import RevisePlan, SignPlan
from .domain.intensity import plan_problems_with, weekly_hours
from .domain.plan_rules import GROUP_MODALITIES, draft_plan
from .domain.progress_review import ReviewInputs, ReviewOutcome, review
from .program_rules import program_rules
from .tables import (
    AttendanceRecord,
    CarePlanState,
    GoalWords,
    ParkedInput,
    PlanRevisionNote,
    PlanSignatureRecord,
    PlanVersion,
    ProgressReviewRecord,
    SafetyFlag,
)

log = get_logger(__name__)

OPEN = ("active", "step_up_recommended")


class UnknownParticipant(LookupError):
    """An event about a participant planning has no plan for: dead-lettered with this reason."""


class UnknownPlan(NotFound):
    def __init__(self, plan_id: str):
        super().__init__(f"unknown plan: {plan_id}")


class UnknownGoal(NotFound):
    pass


class UnknownSafetyFlag(NotFound):
    pass


class PlanConflict(Conflict):
    """The edit is on a superseded version, or the plan is closed (HTTP 409)."""


class PlanRejected(Rejected):
    """The plan would break the program's rules, e.g. hours outside the level's bounds (HTTP 422,
    ``{"detail": {"reasons": [...]}}``)."""

    def __init__(self, reasons: list[str]):
        super().__init__("; ".join(reasons))
        self.reasons = reasons

    def body(self) -> dict:
        return {"detail": {"reasons": self.reasons}}


@dataclass(frozen=True)
class ReviewHeld:
    review_id: str
    outcome: ReviewOutcome


# ---------------------------------------------------------------- lookups


async def current_version(session: AsyncSession, plan_id: str) -> PlanVersion | None:
    return await session.scalar(select(PlanVersion).where(PlanVersion.plan_id == plan_id)
                                .order_by(PlanVersion.version.desc()).limit(1))


async def _knows_participant(session: AsyncSession, participant_id: str) -> bool:
    return await session.scalar(select(PlanVersion.plan_id).where(
        PlanVersion.participant_id == participant_id).limit(1)) is not None


async def _open_state(session: AsyncSession, participant_id: str) -> CarePlanState | None:
    return await session.scalar(select(CarePlanState).where(
        CarePlanState.participant_id == participant_id, CarePlanState.status.in_(OPEN))
        .order_by(CarePlanState.created_at.desc()).limit(1))


async def _state_for_command(session: AsyncSession, plan_id: str) -> CarePlanState:
    state = await session.get(CarePlanState, plan_id)
    if state is None:
        raise UnknownPlan(plan_id)
    return state


def _park(ctx: HandlerContext, participant_id: str, reason: str) -> None:
    ctx.session.add(ParkedInput(participant_id=participant_id, event_type=ctx.cause.type,
                                event_id=ctx.cause.id, reason=reason))
    log.warning("input.parked", event_type=ctx.cause.type, event_id=ctx.cause.id,
                participant_id=participant_id, reason=reason)


def _phq9(event: AssessmentCompleted) -> int | None:
    return next((s.total for s in event.scores if s.instrument is Instrument.PHQ9), None)


# ---------------------------------------------------------------- plans from assessments


async def on_assessment_completed(ctx: HandlerContext, event: AssessmentCompleted) -> None:
    if event.kind is AssessmentKind.REASSESSMENT:
        await _on_reassessment(ctx, event)
    elif event.admitted_to_iop:
        await _create_plan(ctx, event)
    # an initial assessment that referred the person out needs no plan


async def _create_plan(ctx: HandlerContext, event: AssessmentCompleted) -> None:
    existing = await ctx.session.scalar(
        select(CarePlanState.plan_id).where(CarePlanState.episode_id == event.episode_id))
    if existing:
        _park(ctx, event.participant_id, "plan_exists_for_episode: revise it through the API")
        return
    for older in (await ctx.session.scalars(select(CarePlanState).where(
            CarePlanState.participant_id == event.participant_id, CarePlanState.status.in_(OPEN)))).all():
        older.status = "closed"  # a new episode (a step back up) supersedes an older plan
    program = program_rules(ctx.cause.programid)
    start = event.completed_at.date() + timedelta(days=1)
    plan_id = new_id("plan")
    draft = draft_plan(program, plan_id, set(event.findings), set(event.strengths), event.goal_ids,
                       event.adolescent, start)
    plan = PlanCreated(
        participant_id=event.participant_id, plan_id=plan_id, plan_version=1,
        episode_id=event.episode_id, assessment_id=event.assessment_id,
        level_of_care=program.level_of_care, weekly_hours_target=draft.weekly_hours,
        weekly_hours_minimum=draft.min_hours, weekly_hours_maximum=draft.max_hours,
        start_date=draft.start_date, expected_weeks=draft.expected_weeks, review_dates=draft.review_dates,
        interventions=draft.interventions, problems=draft.problems, goals=draft.goals,
        objectives=draft.objectives, goal_ids=event.goal_ids, availability=event.availability,
        attendance_mode=event.attendance_mode, adolescent=event.adolescent, created_at=datetime.now(UTC),
    )
    ctx.session.add(PlanVersion(
        plan_id=plan_id, version=1, participant_id=event.participant_id, episode_id=event.episode_id,
        tenant_id=ctx.cause.tenantid, program_id=ctx.cause.programid, body=plan.model_dump(mode="json")))
    for goal in event.goals:  # kept sealed: the plan API opens them when read
        if await ctx.session.get(GoalWords, goal.goal_id) is None:
            ctx.session.add(GoalWords(goal_id=goal.goal_id, participant_id=event.participant_id,
                                      sealed=goal.text.model_dump(mode="json")))
    ctx.session.add(CarePlanState(
        plan_id=plan_id, participant_id=event.participant_id, episode_id=event.episode_id,
        tenant_id=ctx.cause.tenantid, program_id=ctx.cause.programid, started_on=start,
        phq9_baseline=_phq9(event), last_assessed_at=event.completed_at, goals_met=[]))
    ctx.outbox.add(plan, EventContext.caused_by(ctx.cause))


# ---------------------------------------------------------------- review inputs from events


async def _on_reassessment(ctx: HandlerContext, event: AssessmentCompleted) -> None:
    state = await ctx.session.scalar(select(CarePlanState).where(CarePlanState.episode_id == event.episode_id))
    if state is None:
        if not await _knows_participant(ctx.session, event.participant_id):
            raise UnknownParticipant(f"re-assessment for a participant with no plan: {event.participant_id}")
        _park(ctx, event.participant_id, "no_plan_for_episode")
        return
    if state.status not in OPEN:
        _park(ctx, event.participant_id, f"plan_{state.status}")
        return
    if event.completed_at <= state.last_assessed_at:
        _park(ctx, event.participant_id, "out_of_order: older than the last assessment applied")
        return
    state.last_assessed_at = event.completed_at
    if (score := _phq9(event)) is not None:
        state.phq9_previous = state.phq9_latest if state.phq9_latest is not None else state.phq9_baseline
        # the lowest score so far, this one included (latest - best is 0 when this is the best)
        state.phq9_best = min(x for x in (score, state.phq9_best, state.phq9_baseline) if x is not None)
        state.phq9_latest = score
    await hold_review(ctx.session, ctx.outbox, state, "reassessment", EventContext.caused_by(ctx.cause))


async def _attendance_state(ctx: HandlerContext, participant_id: str, plan_id: str,
                            session_id: str) -> CarePlanState | None:
    state = await ctx.session.get(CarePlanState, plan_id)
    if state is None:
        if not await _knows_participant(ctx.session, participant_id):
            raise UnknownParticipant(f"attendance for a participant with no plan: {participant_id}")
        _park(ctx, participant_id, "plan_not_known")
        return None
    if await ctx.session.get(AttendanceRecord, session_id) is not None:
        _park(ctx, participant_id, "session_already_recorded")
        return None
    return state


async def on_session_attended(ctx: HandlerContext, event: SessionAttended) -> None:
    state = await _attendance_state(ctx, event.participant_id, event.plan_id, event.session_id)
    if state is None:
        return
    ctx.session.add(AttendanceRecord(session_id=event.session_id, participant_id=event.participant_id,
                                     plan_id=event.plan_id, attended=True, minutes=event.minutes_attended))
    state.sessions_attended += 1
    state.minutes_attended += event.minutes_attended
    if state.status in OPEN:
        await hold_review(ctx.session, ctx.outbox, state, "attendance", EventContext.caused_by(ctx.cause),
                          only_on_change=True)


async def on_session_missed(ctx: HandlerContext, event: SessionMissed) -> None:
    state = await _attendance_state(ctx, event.participant_id, event.plan_id, event.session_id)
    if state is None:
        return
    ctx.session.add(AttendanceRecord(session_id=event.session_id, participant_id=event.participant_id,
                                     plan_id=event.plan_id, attended=False))
    state.sessions_missed += 1
    if state.status in OPEN:
        await hold_review(ctx.session, ctx.outbox, state, "attendance", EventContext.caused_by(ctx.cause),
                          only_on_change=True)


async def on_safety_risk_flagged(ctx: HandlerContext, event: SafetyRiskFlagged) -> None:
    """Kept whether or not a plan exists yet (intake flags before the assessment completes)."""
    if await ctx.session.get(SafetyFlag, event.flag_id) is not None:
        return
    ctx.session.add(SafetyFlag(flag_id=event.flag_id, participant_id=event.participant_id,
                               severity=event.severity, flagged_at=event.flagged_at))
    await ctx.session.flush()
    state = await _open_state(ctx.session, event.participant_id)
    if state is not None:
        await hold_review(ctx.session, ctx.outbox, state, "safety_flag", EventContext.caused_by(ctx.cause))


async def on_safety_flag_resolved(ctx: HandlerContext, event: AssessmentSafetyFlagResolved) -> None:
    """Intake owns the flags it raised: its resolution closes planning's copy and the plan is
    reviewed again (as planning's own resolution route does)."""
    flag = await ctx.session.get(SafetyFlag, event.flag_id)
    if flag is not None and flag.resolved_at is not None:
        return
    if flag is None:
        flag = SafetyFlag(flag_id=event.flag_id, participant_id=event.participant_id, severity=event.severity,
                          flagged_at=event.flagged_at)
        ctx.session.add(flag)
    flag.resolved_at, flag.resolved_by = event.resolved_at, event.resolved_by
    await ctx.session.flush()
    state = await _open_state(ctx.session, event.participant_id)
    if state is not None:
        await hold_review(ctx.session, ctx.outbox, state, "safety_flag_resolved", EventContext.caused_by(ctx.cause),
                          requested_by=event.resolved_by)


# ---------------------------------------------------------------- progress reviews


async def hold_review(session: AsyncSession, outbox: Outbox, state: CarePlanState, trigger: str,
                      ctx: EventContext, *, requested_by: str | Actor | None = None,
                      only_on_change: bool = False) -> ReviewHeld | None:
    """Review the plan's progress; ProgressReviewed for every review held, StepUpRecommended or
    ReadyForStepDown when that is the decision. With ``only_on_change`` (attendance) a review
    is held only when the decision would differ from the last one."""
    program = program_rules(state.program_id)
    now = datetime.now(UTC)
    flags = (await session.scalars(select(SafetyFlag.severity).where(
        SafetyFlag.participant_id == state.participant_id, SafetyFlag.resolved_at.is_(None)))).all()
    version = await current_version(session, state.plan_id)
    assert version is not None  # a plan has its first version from the start
    goals_total = len(version.body.get("goals", ()))
    inputs = ReviewInputs(
        phq9_baseline=state.phq9_baseline, phq9_latest=state.phq9_latest,
        phq9_previous=state.phq9_previous, phq9_best=state.phq9_best,
        sessions_attended=state.sessions_attended, sessions_missed=state.sessions_missed,
        goals_total=goals_total, goals_met=len(state.goals_met),
        open_safety_flags=tuple(RiskSeverity(s) for s in flags),
        weeks_in_treatment=max(0, (now.date() - state.started_on).days) / 7)
    outcome = review(inputs, program)
    previous = ReviewDecision(state.last_decision) if state.last_decision else ReviewDecision.CONTINUE
    if only_on_change and outcome.decision is previous:
        return None
    review_id = new_id("rev")
    by = requested_by if isinstance(requested_by, Actor) else None
    requested_by = by.id if by else requested_by
    session.add(ProgressReviewRecord(
        review_id=review_id, plan_id=state.plan_id, participant_id=state.participant_id, trigger=trigger,
        decision=outcome.decision, criteria_met=list(outcome.criteria_met),
        reason_codes=list(outcome.reason_codes), requested_by=requested_by,
        requested_by_role=by.role if by else None, reviewed_at=now))
    outbox.add(ProgressReviewed(
        participant_id=state.participant_id, plan_id=state.plan_id, review_id=review_id, reviewed_at=now,
        sessions_attended=state.sessions_attended, sessions_missed=state.sessions_missed,
        attendance_rate=round(inputs.attendance_rate, 4), phq9_change=inputs.phq9_change,
        decision=outcome.decision, episode_id=state.episode_id, plan_version=version.version,
        trigger=trigger, phq9_baseline=state.phq9_baseline, phq9_latest=state.phq9_latest,
        phq9_previous=state.phq9_previous, phq9_best=state.phq9_best,
        goals_met=len(state.goals_met), goals_total=goals_total, open_safety_flags=len(flags),
        criteria_met=outcome.criteria_met, reason_codes=outcome.reason_codes,
        recommended_level_of_care=outcome.recommended_level, requested_by=by), ctx)
    if outcome.decision is ReviewDecision.STEP_UP and previous is not ReviewDecision.STEP_UP:
        state.status = "step_up_recommended"
        outbox.add(StepUpRecommended(
            participant_id=state.participant_id, plan_id=state.plan_id, episode_id=state.episode_id,
            recommended_level_of_care=outcome.recommended_level, reason_code=outcome.reason_codes[0],
            recommended_at=now, current_level_of_care=program.level_of_care, review_id=review_id,
            reason_codes=outcome.reason_codes), ctx)
    elif outcome.decision is ReviewDecision.STEP_DOWN:
        state.status = "stepped_down"
        outbox.add(ReadyForStepDown(
            participant_id=state.participant_id, plan_id=state.plan_id, episode_id=state.episode_id,
            current_level_of_care=program.level_of_care, recommended_level_of_care=outcome.recommended_level,
            sessions_attended=state.sessions_attended, hours_attended=round(state.minutes_attended / 60, 2),
            reason_codes=outcome.criteria_met, planned_discharge_date=now.date(), declared_at=now,
            review_id=review_id), ctx)
    elif outcome.decision is not ReviewDecision.STEP_UP:
        state.status = "active"
    state.last_decision = outcome.decision
    log.info("progress.reviewed", plan_id=state.plan_id, review_id=review_id, trigger=trigger,
             decision=str(outcome.decision))
    return ReviewHeld(review_id, outcome)


# ---------------------------------------------------------------- commands (API)


async def _open_for_edit(session: AsyncSession, plan_id: str) -> tuple[CarePlanState, PlanVersion]:
    state = await _state_for_command(session, plan_id)
    if state.status not in OPEN:
        raise PlanConflict(f"plan {plan_id} is {state.status}; it can no longer change")
    version = await current_version(session, plan_id)
    assert version is not None  # a plan has its first version from the start
    return state, version


def _review_dates(start: date, weeks: int, every_days: int) -> tuple[date, ...]:
    return tuple(start + timedelta(days=every_days * i) for i in range(1, weeks * 7 // every_days + 1))


async def revise_plan(session: AsyncSession, outbox: Outbox, plan_id: str, cmd: RevisePlan,
                      by: Actor) -> PlanRevised:
    state, current = await _open_for_edit(session, plan_id)
    if cmd.base_version != current.version:
        raise PlanConflict(f"version {cmd.base_version} of plan {plan_id} is superseded by version "
                           f"{current.version}: edit the current version")
    program = program_rules(state.program_id)
    body = {k: v for k, v in current.body.items() if k in _PlanBody.model_fields}
    base = _PlanBody.model_validate(body)
    interventions = base.interventions
    if cmd.interventions is not None:
        known_problems = {p.problem_id for p in base.problems}
        unknown = {p for i in cmd.interventions for p in i.problem_ids} - known_problems
        if unknown:
            raise PlanRejected([f"unknown problem ids: {', '.join(sorted(unknown))}"])
        interventions = tuple(
            PlannedIntervention(
                intervention_id=i.intervention_id or new_id("int"), modality=i.modality,
                sessions_per_week=i.sessions_per_week, minutes=i.minutes, discipline=i.discipline,
                group=i.modality in GROUP_MODALITIES, problem_ids=tuple(i.problem_ids),
                wellbeing_domains=tuple(i.wellbeing_domains if i.wellbeing_domains is not None
                                        else program.domains_of(i.modality)))
            for i in cmd.interventions)
    bounds = program.hours_bounds(base.adolescent)
    if reasons := plan_problems_with(interventions, bounds):
        raise PlanRejected(reasons)
    expected_weeks = cmd.expected_weeks or base.expected_weeks
    now = datetime.now(UTC)
    revised = PlanRevised(**{
        **base.model_dump(), "plan_version": current.version + 1, "interventions": interventions,
        "weekly_hours_target": weekly_hours(interventions), "weekly_hours_minimum": bounds.minimum,
        "weekly_hours_maximum": bounds.maximum, "expected_weeks": expected_weeks,
        "review_dates": (_review_dates(base.start_date, expected_weeks, program.review_every_days)
                         if cmd.expected_weeks else base.review_dates),
        "availability": (tuple(w.model_dump() for w in cmd.availability) if cmd.availability
                         else base.availability),
        "attendance_mode": cmd.attendance_mode or base.attendance_mode,
        # a changed plan is signed again by both
        "signed_by_clinician": False, "signed_by_participant": False,
        "revised_at": now, "reason_code": cmd.reason_code, "previous_version": current.version,
        "revised_by": by.id, "actor": by})
    session.add(PlanVersion(
        plan_id=plan_id, version=revised.plan_version, participant_id=state.participant_id,
        episode_id=state.episode_id, tenant_id=state.tenant_id, program_id=state.program_id,
        body=revised.model_dump(mode="json"), reason_code=cmd.reason_code, created_at=now))
    session.add(PlanRevisionNote(plan_id=plan_id, version=revised.plan_version,
                                 staff_id=by.id, note=cmd.note))
    outbox.add(revised, EventContext.new(state.tenant_id, state.program_id))
    return revised


async def sign_plan(session: AsyncSession, outbox: Outbox, plan_id: str, version: int, cmd: SignPlan,
                    by: Actor, *, own_participant: str | None = None) -> dict[str, bool]:
    """A signature on the current version. ``by`` is whose token records it:

    - ``role: clinician`` (own_session): the clinician signs, ``signer_id`` = their subject;
    - ``role: participant, kind: witnessed_paper_signature``: the participant signed on paper and
      the clinician ``by`` attests it; it counts as the participant's signature;
    - ``role: participant`` in their own session: only through the participant's own route,
      which passes ``own_participant`` (the token's participant_id, already matched to the plan).
    A clinician's token never gives the participant's own signature (403)."""
    state = await _state_for_command(session, plan_id)
    current = await current_version(session, plan_id)
    assert current is not None  # a plan has its first version from the start
    if version != current.version:
        raise PlanConflict(f"version {version} of plan {plan_id} is superseded by version {current.version}: "
                           "sign the current version")
    witnessed = cmd.kind is PlanSignatureKind.WITNESSED_PAPER_SIGNATURE
    if cmd.role is SignerRole.CLINICIAN:
        if witnessed:
            raise PlanRejected(["kind: a clinician signs in their own session; witnessed_paper_signature is "
                                "for the participant's signature on paper"])
        signer_id = by.id
    elif own_participant is not None:
        if own_participant != state.participant_id or witnessed:
            raise UnknownPlan(plan_id)
        signer_id = own_participant
    elif not witnessed:
        raise NotPermitted("a participant signs their own plan in their own session; a clinician who witnessed "
                           "a signature on paper records it with kind witnessed_paper_signature", field="role")
    else:
        signer_id = state.participant_id
    existing = await session.get(PlanSignatureRecord, (plan_id, version, cmd.role.value))
    if existing is None:
        now = datetime.now(UTC)
        session.add(PlanSignatureRecord(plan_id=plan_id, version=version, role=cmd.role.value, signer_id=signer_id,
                                        signed_at=now, kind=cmd.kind.value, actor_id=by.id, actor_role=by.role))
        await session.flush()
    status = await signature_status(session, plan_id, version)
    if existing is None:
        outbox.add(PlanSigned(
            participant_id=state.participant_id, plan_id=plan_id, plan_version=version,
            signature=PlanSignature(role=cmd.role, signer_id=signer_id, signed_at=now, kind=cmd.kind, actor=by,
                                    attested_by=by if witnessed else None),
            **status), EventContext.new(state.tenant_id, state.program_id))
    return status


async def signature_status(session: AsyncSession, plan_id: str, version: int) -> dict[str, bool]:
    roles = set((await session.scalars(select(PlanSignatureRecord.role).where(
        PlanSignatureRecord.plan_id == plan_id, PlanSignatureRecord.version == version))).all())
    return {"signed_by_clinician": SignerRole.CLINICIAN.value in roles,
            "signed_by_participant": SignerRole.PARTICIPANT.value in roles}


async def mark_goal_met(session: AsyncSession, outbox: Outbox, plan_id: str, goal_id: str,
                        by: Actor) -> ReviewHeld:
    state, current = await _open_for_edit(session, plan_id)
    if goal_id not in {g["goal_id"] for g in current.body.get("goals", ())}:
        raise UnknownGoal(f"plan {plan_id} has no goal {goal_id}")
    if goal_id not in state.goals_met:
        state.goals_met = [*state.goals_met, goal_id]
    held = await hold_review(session, outbox, state, "goal_met", EventContext.new(state.tenant_id, state.program_id),
                             requested_by=by)
    assert held is not None  # held unless only_on_change
    return held


async def request_review(session: AsyncSession, outbox: Outbox, plan_id: str, by: Actor) -> ReviewHeld:
    state, _ = await _open_for_edit(session, plan_id)
    held = await hold_review(session, outbox, state, "requested", EventContext.new(state.tenant_id, state.program_id),
                             requested_by=by)
    assert held is not None  # held unless only_on_change
    return held


async def resolve_safety_flag(session: AsyncSession, outbox: Outbox, participant_id: str, flag_id: str,
                              by: Actor) -> ReviewHeld | None:
    flag = await session.get(SafetyFlag, flag_id)
    if flag is None or flag.participant_id != participant_id:
        raise UnknownSafetyFlag(f"participant {participant_id} has no safety flag {flag_id}")
    if flag.resolved_at is None:
        flag.resolved_at, flag.resolved_by = datetime.now(UTC), by.id
        await session.flush()
    state = await _open_state(session, participant_id)
    if state is None:
        return None
    return await hold_review(session, outbox, state, "safety_flag_resolved",
                             EventContext.new(state.tenant_id, state.program_id),
                             requested_by=by)


HANDLERS: dict[type[Event], Handler] = {
    AssessmentCompleted: on_assessment_completed,
    SafetyRiskFlagged: on_safety_risk_flagged,
    AssessmentSafetyFlagResolved: on_safety_flag_resolved,
    SessionAttended: on_session_attended,
    SessionMissed: on_session_missed,
}
