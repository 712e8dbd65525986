"""Planning's handlers: a plan from an initial assessment, progress from attendance,
and ReadyForStepDown when the program's criteria are met."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from services.contracts.codes import AssessmentKind, LevelOfCare
from services.contracts.envelope import EventContext
from services.contracts.events_intake import AssessmentCompleted
from services.contracts.events_planning import PlanCreated, PlannedIntervention, ReadyForStepDown
from services.contracts.events_scheduling import SessionAttended, SessionMissed
from services.eventing.consumer import HandlerContext
from services.eventing.ids import new_id

from .domain.plan_rules import GROUP_MODALITIES, draft_plan, ready_for_step_down
from .program_rules import program_rules
from .tables import PlanVersion, Progress


async def on_assessment_completed(ctx: HandlerContext, event: AssessmentCompleted) -> None:
    if not event.admitted_to_iop or event.kind is not AssessmentKind.INITIAL:
        return  # referred out; re-assessments feed progress reviews (planning issue)
    existing = await ctx.session.scalar(
        select(PlanVersion.plan_id).where(PlanVersion.episode_id == event.episode_id).limit(1))
    if existing:
        return  # one plan per episode; a second assessment revises it (planning issue)
    program = program_rules(ctx.cause.programid)
    start = event.completed_at.date() + timedelta(days=1)
    draft = draft_plan(program, set(event.findings), set(event.strengths), event.adolescent, start)
    plan_id = new_id("plan")
    plan = PlanCreated(
        participant_id=event.participant_id, plan_id=plan_id, plan_version=1,
        episode_id=event.episode_id, assessment_id=event.assessment_id,
        level_of_care=LevelOfCare.INTENSIVE_OUTPATIENT, weekly_hours_target=draft.weekly_hours,
        weekly_hours_minimum=draft.min_hours, start_date=draft.start_date,
        expected_weeks=draft.expected_weeks, review_dates=draft.review_dates,
        interventions=tuple(
            PlannedIntervention(intervention_id=f"{plan_id}-i{n}", modality=t.modality,
                                sessions_per_week=t.sessions_per_week, minutes=t.minutes,
                                discipline=t.discipline, group=t.modality in GROUP_MODALITIES)
            for n, t in enumerate(draft.interventions, start=1)),
        goal_ids=event.goal_ids, availability=event.availability,
        attendance_mode=event.attendance_mode, created_at=datetime.now(UTC),
    )
    ctx.session.add(PlanVersion(
        plan_id=plan_id, version=1, participant_id=event.participant_id, episode_id=event.episode_id,
        tenant_id=ctx.cause.tenantid, program_id=ctx.cause.programid, body=plan.model_dump(mode="json")))
    ctx.session.add(Progress(participant_id=event.participant_id, plan_id=plan_id,
                             episode_id=event.episode_id))
    ctx.outbox.add(plan, EventContext.caused_by(ctx.cause))


async def on_session_attended(ctx: HandlerContext, event: SessionAttended) -> None:
    progress = await ctx.session.get(Progress, event.participant_id)
    if progress is None or progress.plan_id != event.plan_id:
        return  # attendance for a plan no longer in force changes nothing
    progress.sessions_attended += 1
    progress.minutes_attended += event.minutes_attended
    program = program_rules(ctx.cause.programid)
    if not progress.step_down_declared and ready_for_step_down(program, progress.sessions_attended):
        progress.step_down_declared = True
        now = datetime.now(UTC)
        ctx.outbox.add(ReadyForStepDown(
            participant_id=event.participant_id, plan_id=progress.plan_id, episode_id=progress.episode_id,
            current_level_of_care=program.level_of_care, recommended_level_of_care=program.step_down_to,
            sessions_attended=progress.sessions_attended,
            hours_attended=round(progress.minutes_attended / 60, 2),
            reason_codes=("attendance_criteria_met",), planned_discharge_date=now.date(),
            declared_at=now), EventContext.caused_by(ctx.cause))


async def on_session_missed(ctx: HandlerContext, event: SessionMissed) -> None:
    progress = await ctx.session.get(Progress, event.participant_id)
    if progress is not None and progress.plan_id == event.plan_id:
        progress.sessions_missed += 1


HANDLERS = {
    AssessmentCompleted: on_assessment_completed,
    SessionAttended: on_session_attended,
    SessionMissed: on_session_missed,
}
