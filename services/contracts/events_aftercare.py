"""Events the aftercare service produces (topic ``continuum.aftercare.events``)."""

from datetime import date, datetime

from pydantic import Field

from .base import Event, Id, event
from .codes import AftercareService, FollowUpStatus, LevelOfCare, RelapseRisk


@event("aftercare", "aftercare_plan_created")
class AftercarePlanCreated(Event):
    aftercare_plan_id: Id
    episode_id: Id
    step_down_level_of_care: LevelOfCare
    services: tuple[AftercareService, ...]
    relapse_prevention_plan_id: Id = Field(
        description="The plan's content (triggers, supports ...) stays in aftercare's store"
    )
    confirmed_by_participant: bool
    created_at: datetime


@event("aftercare", "participant_discharged")
class ParticipantDischarged(Event):
    episode_id: Id
    discharged_on: date
    from_level_of_care: LevelOfCare
    to_level_of_care: LevelOfCare
    reason_code: str


@event("aftercare", "follow_up_scheduled")
class FollowUpScheduled(Event):
    follow_up_id: Id
    episode_id: Id
    day_offset: int = Field(ge=0)
    due_at: datetime
    flow_run_id: str
    grace_check_flow_run_id: str | None = Field(
        default=None, description="The flow run that checks for a response when the grace window ends"
    )


@event("aftercare", "follow_up_completed")
class FollowUpCompleted(Event):
    follow_up_id: Id
    episode_id: Id
    status: FollowUpStatus
    phq9_total: int | None = Field(default=None, ge=0, le=27)
    completed_at: datetime


@event("aftercare", "follow_up_missed")
class FollowUpMissed(Event):
    follow_up_id: Id
    episode_id: Id
    escalation_level: int = Field(ge=1)
    missed_at: datetime
    day_offset: int | None = Field(default=None, ge=0)
    outreach_task_id: Id | None = Field(default=None, description="The outreach task opened for it")
    escalated_to: str | None = Field(
        default=None, description="Role code the outreach task goes to, e.g. 'care_coordinator'"
    )


@event("aftercare", "relapse_risk_detected")
class RelapseRiskDetected(Event):
    follow_up_id: Id
    episode_id: Id
    risk: RelapseRisk
    detected_at: datetime


@event("aftercare", "aftercare_completed")
class AftercareCompleted(Event):
    aftercare_plan_id: Id
    episode_id: Id
    outcome_code: str
    completed_at: datetime


@event("aftercare", "aftercare_plan_confirmed")
class AftercarePlanConfirmed(Event):
    """The participant reviewed and confirmed the aftercare plan and its relapse-prevention
    plan (whose content stays in aftercare's store)."""

    aftercare_plan_id: Id
    episode_id: Id
    relapse_prevention_plan_id: Id
    confirmed_at: datetime


@event("aftercare", "follow_up_cancelled")
class FollowUpCancelled(Event):
    """A check-in that will not take place, e.g. after a readmission."""

    follow_up_id: Id
    episode_id: Id
    reason_code: str = Field(description="e.g. 'readmitted', 'stepped_up'")
    cancelled_at: datetime
