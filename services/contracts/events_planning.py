"""Events the planning service produces (topic ``continuum.planning.events``)."""

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from .base import Event, Id, event
from .codes import AttendanceMode, Discipline, LevelOfCare, Modality, ReviewDecision
from .events_intake import AvailabilityWindow


class PlannedIntervention(BaseModel):
    model_config = ConfigDict(frozen=True)

    intervention_id: Id
    modality: Modality
    sessions_per_week: int = Field(ge=1, le=14)
    minutes: int = Field(ge=15, le=240)
    discipline: Discipline
    group: bool


class _PlanBody(Event):
    plan_id: Id
    plan_version: int = Field(ge=1)
    episode_id: Id
    assessment_id: Id
    level_of_care: LevelOfCare
    weekly_hours_target: float = Field(gt=0)
    weekly_hours_minimum: float = Field(gt=0)
    start_date: date
    expected_weeks: int = Field(ge=1)
    review_dates: tuple[date, ...]
    interventions: tuple[PlannedIntervention, ...]
    goal_ids: tuple[Id, ...] = ()
    availability: tuple[AvailabilityWindow, ...] = Field(
        description="When the participant can attend (from the assessment, revised with the plan)"
    )
    attendance_mode: AttendanceMode = AttendanceMode.EITHER
    signed_by_clinician: bool = False
    signed_by_participant: bool = False


@event("planning", "plan_created")
class PlanCreated(_PlanBody):
    created_at: datetime


@event("planning", "plan_revised")
class PlanRevised(_PlanBody):
    revised_at: datetime
    reason_code: str


@event("planning", "progress_reviewed")
class ProgressReviewed(Event):
    plan_id: Id
    review_id: Id
    reviewed_at: datetime
    sessions_attended: int = Field(ge=0)
    sessions_missed: int = Field(ge=0)
    attendance_rate: float = Field(ge=0, le=1)
    phq9_change: int | None = None
    decision: ReviewDecision


@event("planning", "step_up_recommended")
class StepUpRecommended(Event):
    plan_id: Id
    episode_id: Id
    recommended_level_of_care: LevelOfCare
    reason_code: str
    recommended_at: datetime


@event("planning", "ready_for_step_down")
class ReadyForStepDown(Event):
    plan_id: Id
    episode_id: Id
    current_level_of_care: LevelOfCare
    recommended_level_of_care: LevelOfCare
    sessions_attended: int = Field(ge=0)
    hours_attended: float = Field(ge=0)
    reason_codes: tuple[str, ...]
    planned_discharge_date: date
    declared_at: datetime
