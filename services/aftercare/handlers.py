"""Aftercare's handlers: step-down into an aftercare plan, discharge and scheduled
follow-ups; opening and recording check-ins; the way back up."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.contracts.envelope import EventContext
from services.contracts.events_aftercare import (
    AftercarePlanCreated,
    FollowUpCompleted,
    FollowUpScheduled,
    ParticipantDischarged,
    RelapseRiskDetected,
)
from services.contracts.events_planning import ReadyForStepDown
from services.eventing.consumer import HandlerContext
from services.eventing.ids import new_id
from services.eventing.outbox import Outbox

from .domain.follow_up_rules import CheckIn, check_in_status, follow_up_due_times, relapse_risk, step_down_services
from .follow_up_scheduler import FollowUpScheduler
from .notifications import Notifier
from .settings import AftercareSettings
from .tables import AftercarePlan, FollowUp


class UnknownFollowUp(LookupError):
    pass


class FollowUpConflict(ValueError):
    pass


@dataclass
class Aftercare:
    """Aftercare's handlers with their ports injected (Prefect, notifications)."""

    scheduler: FollowUpScheduler
    notifier: Notifier
    settings: AftercareSettings

    def handlers(self) -> dict:
        return {ReadyForStepDown: self.on_ready_for_step_down}

    async def on_ready_for_step_down(self, ctx: HandlerContext, event: ReadyForStepDown) -> None:
        exists = await ctx.session.scalar(
            select(AftercarePlan.id).where(AftercarePlan.episode_id == event.episode_id))
        if exists:
            return
        out = EventContext.caused_by(ctx.cause)
        now = datetime.now(UTC)
        services = step_down_services(event.recommended_level_of_care)
        plan = AftercarePlan(
            id=new_id("acp"), participant_id=event.participant_id, episode_id=event.episode_id,
            tenant_id=ctx.cause.tenantid, program_id=ctx.cause.programid,
            step_down_level=event.recommended_level_of_care, services=list(services),
            relapse_prevention_plan_id=new_id("rpp"), discharged_on=event.planned_discharge_date)
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
        day = timedelta(seconds=self.settings.day_length_seconds)
        for offset, due in follow_up_due_times(now, self.settings.follow_up_days, day):
            follow_up_id = f"fu-{event.episode_id}-d{offset}"
            # idempotent on the Prefect side: a retry after a crash finds the same run
            run_id = await self.scheduler.schedule(follow_up_id=follow_up_id,
                                                   participant_id=event.participant_id, due_at=due)
            ctx.session.add(FollowUp(
                id=follow_up_id, participant_id=event.participant_id, episode_id=event.episode_id,
                tenant_id=ctx.cause.tenantid, program_id=ctx.cause.programid, day_offset=offset,
                due_at=due, flow_run_id=run_id))
            ctx.outbox.add(FollowUpScheduled(
                participant_id=event.participant_id, follow_up_id=follow_up_id, episode_id=event.episode_id,
                day_offset=offset, due_at=due, flow_run_id=run_id), out)

    async def open_check_in(self, session: AsyncSession, follow_up_id: str) -> FollowUp:
        """Called by the due flow run. Idempotent: a second call sends no second reminder."""
        fu = await session.get(FollowUp, follow_up_id)
        if fu is None:
            raise UnknownFollowUp(follow_up_id)
        if fu.status == "scheduled":
            fu.status, fu.opened_at = "open", datetime.now(UTC)
            self.notifier.send_check_in_reminder(fu.participant_id, fu.id, fu.due_at)
        return fu

    async def record_check_in(self, session: AsyncSession, outbox: Outbox, follow_up_id: str,
                              check_in: CheckIn) -> FollowUp:
        fu = await session.get(FollowUp, follow_up_id)
        if fu is None:
            raise UnknownFollowUp(follow_up_id)
        if fu.status == "completed":
            raise FollowUpConflict(f"follow-up {follow_up_id} is already completed")
        if fu.status == "cancelled":
            raise FollowUpConflict(f"follow-up {follow_up_id} was cancelled")
        now = datetime.now(UTC)
        status = check_in_status(check_in)
        fu.status, fu.completed_at, fu.result = "completed", now, status
        fu.answers = check_in.__dict__
        ctx = EventContext.new(fu.tenant_id, fu.program_id)
        outbox.add(FollowUpCompleted(participant_id=fu.participant_id, follow_up_id=fu.id,
                                     episode_id=fu.episode_id, status=status,
                                     phq9_total=check_in.phq9_total, completed_at=now), ctx)
        risk = relapse_risk(status, check_in)
        if risk is not None:
            outbox.add(RelapseRiskDetected(participant_id=fu.participant_id, follow_up_id=fu.id,
                                           episode_id=fu.episode_id, risk=risk, detected_at=now), ctx)
        return fu
