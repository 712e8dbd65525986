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
