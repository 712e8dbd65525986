"""Aftercare's handlers: step-down into an aftercare plan, discharge and scheduled
follow-ups; the relapse-prevention plan and its confirmation; opening, answering and
missing check-ins (with escalation); the way back up; readmission."""

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import cast

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.contracts.base import Actor
from services.contracts.envelope import EventContext
from services.contracts.events_aftercare import (
    AftercarePlanConfirmed,
    AftercarePlanCreated,
    ConfirmationKind,
    FollowUpCancelled,
    FollowUpCompleted,
    FollowUpMissed,
    ParticipantDischarged,
    RelapseRiskDetected,
)
from services.contracts.events_intake import AssessmentCompleted
from services.contracts.events_planning import ReadyForStepDown
from services.eventing.consumer import HandlerContext
from services.eventing.ids import new_id
from services.eventing.logging import get_logger
from services.eventing.outbox import Outbox
from services.web.refusals import Conflict, NotFound

from . import safety_flags
from .domain.cadence import cadence_for
from .domain.follow_up_rules import (
    CheckIn,
    check_in_safety,
    check_in_status,
    follow_up_due_times,
    relapse_risk,
    step_down_services,
)
from .domain.missed import GraceOutcome, escalation_for, grace_deadline, grace_outcome
from .domain.step_up import RemainingFollowUps, is_readmission, remaining_follow_ups
from .settings import AftercareSettings
from .tables import AdditionalAnswer, AftercarePlan, FollowUp, OutreachTask, ReminderContact, SafetyFlag

log = get_logger(__name__)

PENDING = ("scheduled", "open")


class UnknownFollowUp(NotFound):
    """404: no such follow-up, or not the caller's (the same answer)."""

    def __init__(self, follow_up_id: str):
        super().__init__(f"unknown follow-up: {follow_up_id}")


class NoAftercarePlan(NotFound):
    def __init__(self, participant_id: str):
        super().__init__(f"no aftercare for participant: {participant_id}")


class FollowUpConflict(Conflict):
    """409: the plan's state does not allow it (e.g. nothing written to confirm yet)."""


@dataclass(frozen=True)
class CheckInRecorded:
    follow_up: FollowUp
    safety_flag: SafetyFlag | None
    additional: bool = False  # the follow-up was already completed or cancelled


@dataclass
class Aftercare:
    """Aftercare's handlers and commands. They only write rows (state and outbox): the flow runs
    and reminders they ask for are made by the dispatcher (``dispatcher.py``) once committed."""

    settings: AftercareSettings
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    @property
    def day(self) -> timedelta:
        return timedelta(seconds=self.settings.day_length_seconds)

    @property
    def grace(self) -> timedelta:
        return self.settings.grace_days * self.day

    def handlers(self) -> dict:
        return {ReadyForStepDown: self.on_ready_for_step_down, AssessmentCompleted: self.on_assessment_completed}

    # -- step-down -------------------------------------------------------------------------

    async def on_ready_for_step_down(self, ctx: HandlerContext, event: ReadyForStepDown) -> None:
        exists = await ctx.session.scalar(
            select(AftercarePlan.id).where(AftercarePlan.episode_id == event.episode_id))
        if exists:
            return
        out = EventContext.caused_by(ctx.cause)
        # the discharge is when planning declared the step-down (a redelivery or a late consumer
        # gives the same time), not when this message happens to be handled
        now = event.declared_at if event.declared_at.tzinfo else event.declared_at.replace(tzinfo=UTC)
        services = step_down_services(event.recommended_level_of_care)
        plan = AftercarePlan(
            id=new_id("acp"), participant_id=event.participant_id, episode_id=event.episode_id,
            tenant_id=ctx.cause.tenantid, program_id=ctx.cause.programid,
            step_down_level=event.recommended_level_of_care, services=list(services),
            relapse_prevention_plan_id=new_id("rpp"), relapse_prevention={},
            discharged_on=event.planned_discharge_date, discharged_at=now)
        ctx.session.add(plan)
        ctx.outbox.add(AftercarePlanCreated(
            participant_id=event.participant_id, aftercare_plan_id=plan.id, episode_id=event.episode_id,
            step_down_level_of_care=event.recommended_level_of_care, services=services,
            relapse_prevention_plan_id=plan.relapse_prevention_plan_id, confirmed_by_participant=False,
            created_at=now), out)
        ctx.outbox.add(ParticipantDischarged(
            participant_id=event.participant_id, episode_id=event.episode_id,
            discharged_on=event.planned_discharge_date, from_level_of_care=event.current_level_of_care,
            to_level_of_care=event.recommended_level_of_care, reason_code="stepped_down"), out)
        cadence = cadence_for(ctx.cause.programid, self.settings.follow_up_days_by_program,
                              self.settings.follow_up_days)
        # only rows here: the dispatcher makes the flow runs from them once this commits, and
        # publishes FollowUpScheduled with their ids (no remote call inside this transaction)
        for offset, due in follow_up_due_times(now, cadence, self.day, self.settings.zone_of(ctx.cause.programid)):
            ctx.session.add(FollowUp(
                id=f"fu-{event.episode_id}-d{offset}", participant_id=event.participant_id,
                episode_id=event.episode_id, tenant_id=ctx.cause.tenantid, program_id=ctx.cause.programid,
                day_offset=offset, due_at=due, grace_until=grace_deadline(due, self.grace),
                runs="to_schedule", correlation_id=out.correlation_id, causation_id=out.causation_id))

    # -- readmission ----------------------------------------------------------------------

    async def on_assessment_completed(self, ctx: HandlerContext, event: AssessmentCompleted) -> None:
        """A readmission (admitted to the IOP in a new episode) stops the pending check-ins."""
        pending = (await ctx.session.scalars(
            select(FollowUp).where(FollowUp.participant_id == event.participant_id,
                                   FollowUp.status.in_(PENDING)).order_by(FollowUp.due_at))).all()
        pending = [f for f in pending if is_readmission(event.admitted_to_iop, event.episode_id, f.episode_id)]
        await self._cancel(ctx.outbox, pending, "readmitted", EventContext.caused_by(ctx.cause))

    async def _cancel(self, outbox: Outbox, follow_ups: list[FollowUp], reason: str, ctx: EventContext) -> None:
        """The dispatcher cancels the flow runs once this commits (a run that still fires finds
        the follow-up cancelled and does nothing)."""
        now = self.clock()
        for fu in follow_ups:
            fu.runs = "to_cancel"
            fu.status, fu.cancelled_at, fu.cancel_reason = "cancelled", now, reason
            outbox.add(FollowUpCancelled(participant_id=fu.participant_id, follow_up_id=fu.id,
                                         episode_id=fu.episode_id, reason_code=reason, cancelled_at=now), ctx)

    # -- the aftercare plan, reviewed with the participant ------------------------------------

    async def latest_plan(self, session: AsyncSession, participant_id: str) -> AftercarePlan:
        plan = await session.scalar(select(AftercarePlan).where(AftercarePlan.participant_id == participant_id)
                                    .order_by(AftercarePlan.created_at.desc()).limit(1))
        if plan is None:
            raise NoAftercarePlan(participant_id)
        return plan

    async def write_relapse_prevention(self, session: AsyncSession, participant_id: str,
                                       content: dict) -> AftercarePlan:
        """A new version of the content needs the participant's confirmation again."""
        plan = await self.latest_plan(session, participant_id)
        plan.relapse_prevention = content
        plan.confirmed_by_participant, plan.confirmed_at = False, None
        plan.confirmed_by = plan.confirmed_by_role = plan.confirmation_kind = plan.attested_by = None
        return plan

    async def confirm_plan(self, session: AsyncSession, outbox: Outbox, participant_id: str, actor: Actor,
                           kind: ConfirmationKind) -> AftercarePlan:
        """``actor``: who records it (the token); ``kind``: participant when it is the participant's
        own session, witnessed when a staff member attests the participant agreed (the route
        decides from the token, never from the body). Idempotent: a confirmed plan stays as it was
        confirmed."""
        plan = await self.latest_plan(session, participant_id)
        if not plan.relapse_prevention:
            raise FollowUpConflict("the relapse-prevention plan is empty: write it with the participant first")
        if plan.confirmed_by_participant:
            return plan
        now = self.clock()
        attested_by = actor.id if kind is ConfirmationKind.WITNESSED else None
        plan.confirmed_by_participant, plan.confirmed_at = True, now
        plan.confirmed_by, plan.confirmed_by_role = actor.id, actor.role
        plan.confirmation_kind, plan.attested_by = str(kind), attested_by
        outbox.add(AftercarePlanConfirmed(
            participant_id=plan.participant_id, aftercare_plan_id=plan.id, episode_id=plan.episode_id,
            relapse_prevention_plan_id=plan.relapse_prevention_plan_id, confirmed_at=now, actor=actor,
            confirmation_kind=kind, attested_by=attested_by),
            EventContext.new(plan.tenant_id, plan.program_id))
        log.info("aftercare_plan.confirmed", participant_id=plan.participant_id, aftercare_plan_id=plan.id,
                 kind=str(kind), by=actor.id, role=actor.role)
        return plan

    async def set_contact(self, session: AsyncSession, participant_id: str, email: str,
                          tenant_id: str, program_id: str | None) -> None:
        contact = await session.get(ReminderContact, participant_id)
        if contact is None:
            session.add(ReminderContact(participant_id=participant_id, email=email, tenant_id=tenant_id,
                                        program_id=program_id))
        else:
            contact.email = email

    # -- check-ins ----------------------------------------------------------------------------

    async def _follow_up(self, session: AsyncSession, follow_up_id: str) -> FollowUp:
        fu = await session.get(FollowUp, follow_up_id)
        if fu is None:
            raise UnknownFollowUp(follow_up_id)
        return fu

    async def open_check_in(self, session: AsyncSession, follow_up_id: str,
                            as_of: datetime | None = None) -> FollowUp:
        """Called by the due flow run. Idempotent: a second call asks for no second reminder.
        The reminder is only asked for here: the dispatcher sends it once this commits, and
        retries until the mail server takes it."""
        fu = await self._follow_up(session, follow_up_id)
        # a run that failed until after the grace window still reminds (once): the miss stands
        if fu.status == "scheduled" or (fu.status == "missed" and fu.reminder is None):
            fu.reminder, fu.reminder_next_at = "to_send", self.clock()
            fu.opened_at = as_of or self.clock()
            if fu.status == "scheduled":
                fu.status = "open"
            log.info("follow_up.opened", follow_up_id=fu.id, participant_id=fu.participant_id)
        return fu

    async def grace_check(self, session: AsyncSession, outbox: Outbox, follow_up_id: str,
                          as_of: datetime | None = None, actor: Actor | None = None
                          ) -> tuple[FollowUp, GraceOutcome]:
        """Called by the run at the end of the grace window. Idempotent: one miss, one task."""
        fu = await self._follow_up(session, follow_up_id)
        now = as_of or self.clock()
        outcome = grace_outcome(fu.status, fu.due_at, self.grace, now)
        if outcome is not GraceOutcome.MISSED:
            return fu, outcome
        earlier = (await session.scalars(
            select(FollowUp.status).where(FollowUp.episode_id == fu.episode_id, FollowUp.due_at < fu.due_at)
            .order_by(FollowUp.due_at))).all()
        esc = escalation_for(list(earlier), self.settings.escalation_roles, self.settings.escalation_response_hours)
        task = OutreachTask(id=new_id("out"), participant_id=fu.participant_id, follow_up_id=fu.id,
                            episode_id=fu.episode_id, escalation_level=esc.level, assignee_role=esc.assignee_role,
                            respond_by=now + esc.due_within, created_at=now)
        session.add(task)
        fu.status, fu.missed_at, fu.escalation_level = "missed", now, esc.level
        outbox.add(FollowUpMissed(participant_id=fu.participant_id, follow_up_id=fu.id, episode_id=fu.episode_id,
                                  escalation_level=esc.level, missed_at=now, day_offset=fu.day_offset,
                                  outreach_task_id=task.id, escalated_to=esc.assignee_role, actor=actor),
                   EventContext.new(fu.tenant_id, fu.program_id))
        log.info("follow_up.missed", follow_up_id=fu.id, participant_id=fu.participant_id,
                 escalation_level=esc.level, escalated_to=esc.assignee_role)
        return fu, outcome

    async def record_check_in(self, session: AsyncSession, outbox: Outbox, follow_up_id: str,
                              check_in: CheckIn, how_they_say_they_are: str = "",
                              actor: Actor | None = None) -> CheckInRecorded:
        """Every answer is stored and any safety finding raises a flag, whatever the follow-up's
        state. An answer to a follow-up already completed or cancelled is an additional answer:
        kept for the care team, not a completion (the first answer stands; no second
        FollowUpCompleted, no second way back up). ``actor``: who recorded the answers (the token)."""
        fu = await self._follow_up(session, follow_up_id)
        now = self.clock()
        by, role = (actor.id, actor.role) if actor else (None, None)
        finding = check_in_safety(check_in, now, self.settings.time_scale)
        flag = safety_flags.raise_flag(session, outbox, fu, check_in, finding, now, actor) if finding else None
        if fu.status in ("completed", "cancelled"):
            session.add(AdditionalAnswer(
                id=new_id("ans"), follow_up_id=fu.id, participant_id=fu.participant_id, follow_up_status=fu.status,
                answers=asdict(check_in), how_they_say_they_are=how_they_say_they_are or None, received_at=now,
                safety_flag_id=flag.id if flag else None, recorded_by=by, recorded_by_role=role))
            return CheckInRecorded(fu, flag, additional=True)
        status = check_in_status(check_in)
        fu.status, fu.completed_at, fu.result = "completed", now, status  # a late answer to a miss counts too
        fu.answers = asdict(check_in)
        fu.how_they_say_they_are = how_they_say_they_are or None
        fu.answered_by, fu.answered_by_role = by, role
        ctx = EventContext.new(fu.tenant_id, fu.program_id)
        outbox.add(FollowUpCompleted(participant_id=fu.participant_id, follow_up_id=fu.id,
                                     episode_id=fu.episode_id, status=status,
                                     phq9_total=check_in.phq9_total, completed_at=now, actor=actor), ctx)
        risk = relapse_risk(status, check_in)
        if risk is not None:
            outbox.add(RelapseRiskDetected(participant_id=fu.participant_id, follow_up_id=fu.id,
                                           episode_id=fu.episode_id, risk=risk, detected_at=now), ctx)
        if remaining_follow_ups(risk, self.settings.remaining_follow_ups_on_risk) is RemainingFollowUps.CANCEL:
            later = (await session.scalars(
                select(FollowUp).where(FollowUp.episode_id == fu.episode_id, FollowUp.due_at > fu.due_at,
                                       FollowUp.status.in_(PENDING)).order_by(FollowUp.due_at))).all()
            await self._cancel(outbox, list(later), "stepped_up", ctx)
        return CheckInRecorded(fu, flag)

    # -- measures ---------------------------------------------------------------------------

    async def follow_up_measures(self, session: AsyncSession, tenant_id: str, programs: tuple[str, ...],
                                 as_of: datetime | None = None, program_id: str | None = None) -> dict:
        """The measures over one tenant's programs (``programs``, or only ``program_id``), in each
        program's local calendar days; a readmission to the IOP counts as a follow-up visit."""
        from .domain.measures import Discharge, follow_up_measure

        now = as_of or self.clock()
        q = select(AftercarePlan).where(AftercarePlan.tenant_id == tenant_id, AftercarePlan.program_id.in_(programs))
        if program_id:
            q = q.where(AftercarePlan.program_id == program_id)
        plans = [p for p in (await session.scalars(q)).all() if p.discharged_at is not None]
        completed: dict[str, list[datetime]] = {}
        for episode_id, at in (await session.execute(
                select(FollowUp.episode_id, FollowUp.completed_at).where(FollowUp.completed_at.is_not(None)))).all():
            completed.setdefault(episode_id, []).append(at)
        readmitted: dict[str, datetime] = {}
        readmissions = select(FollowUp.episode_id, FollowUp.cancelled_at).where(FollowUp.cancel_reason == "readmitted")
        for episode_id, at in (await session.execute(readmissions)).all():
            readmitted[episode_id] = min(at, readmitted.get(episode_id, at))
        # cast: plans holds only the discharged ones (filtered above)
        discharges = [Discharge(cast(datetime, p.discharged_at), completed.get(p.episode_id, []),
                                readmitted.get(p.episode_id), tz=self.settings.zone_of(p.program_id)) for p in plans]
        result = {"as_of": now.isoformat(), "day_length_seconds": self.settings.day_length_seconds}
        for days in (7, 30):
            m = follow_up_measure(discharges, days, now, self.day)
            result[f"within_{days}_days"] = {"discharges": m.discharges, "with_follow_up": m.with_follow_up,
                                             "share": m.share, "window_still_open": m.pending}
        return result
