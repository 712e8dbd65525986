"""Events the planning service produces (topic ``continuum.planning.events``)."""

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from .base import Actor, Event, Id, event
from .codes import (
    AttendanceMode,
    Discipline,
    Finding,
    LevelOfCare,
    Modality,
    ReviewDecision,
    SignerRole,
    WellbeingDomain,
)
from .events_intake import AvailabilityWindow


class PlannedIntervention(BaseModel):
    model_config = ConfigDict(frozen=True)

    intervention_id: Id
    modality: Modality
    sessions_per_week: int = Field(ge=1, le=14)
    minutes: int = Field(ge=15, le=240)
    discipline: Discipline
    group: bool
    problem_ids: tuple[Id, ...] = Field(default=(), description="The problems this intervention addresses")
    wellbeing_domains: tuple[WellbeingDomain, ...] = ()


class PlanProblem(BaseModel):
    """A problem on the plan, from one of the assessment's findings (a code, no narrative)."""

    model_config = ConfigDict(frozen=True)

    problem_id: Id
    finding: Finding


class MeasurableTarget(BaseModel):
    """A target as a measure code, a comparison and a value, due by a date
    (e.g. phq9_total lt 5 by 2027-02-09)."""

    model_config = ConfigDict(frozen=True)

    measure: str = Field(pattern=r"^[a-z0-9_]{1,64}$", description="e.g. phq9_total, attendance_share")
    comparator: str = Field(pattern=r"^(lt|le|ge|gt)$")
    value: float
    due_date: date


class PlanGoal(BaseModel):
    """A goal by id with its measurable target (the participant's words travel sealed in
    intake's AssessmentCompleted; planning shows them in its API, never in its events)."""

    model_config = ConfigDict(frozen=True)

    goal_id: Id
    problem_ids: tuple[Id, ...] = ()
    target: MeasurableTarget


class PlanObjective(BaseModel):
    model_config = ConfigDict(frozen=True)

    objective_id: Id
    goal_id: Id
    code: str = Field(pattern=r"^[a-z0-9_]{1,64}$")
    target: MeasurableTarget


class PlanSignatureKind(StrEnum):
    OWN_SESSION = "own_session"
    """Signed by the signer in their own authenticated session (the clinician's, or the participant's own)."""
    WITNESSED_PAPER_SIGNATURE = "witnessed_paper_signature"
    """The participant signed on paper; a clinician who witnessed it recorded it (``attested_by``).
    It counts as the participant's signature for the plan's rules and is published as what it is."""


class PlanSignature(BaseModel):
    model_config = ConfigDict(frozen=True)

    role: SignerRole = Field(description="Whose signature it is: the clinician's or the participant's")
    signer_id: Id = Field(description="The clinician's id (the token's subject), or the participant's id")
    signed_at: datetime
    kind: PlanSignatureKind | None = Field(
        default=None, description="How it was given (absent on events from before issue 14, whose signer was "
        "stated in the request body)")
    actor: Actor | None = Field(
        default=None, description="Whose token recorded it, as the token said: the clinician, the participant "
        "(their own session), or the clinician who witnessed a paper signature")
    attested_by: Actor | None = Field(
        default=None, description="For a witnessed_paper_signature: the clinician who witnessed and recorded it")


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
    problems: tuple[PlanProblem, ...] = ()
    goals: tuple[PlanGoal, ...] = ()
    objectives: tuple[PlanObjective, ...] = ()
    weekly_hours_maximum: float | None = Field(default=None, gt=0, description="The level's upper bound")
    adolescent: bool = False


@event("planning", "plan_created")
class PlanCreated(_PlanBody):
    created_at: datetime


@event("planning", "plan_revised")
class PlanRevised(_PlanBody):
    revised_at: datetime
    reason_code: str
    previous_version: int | None = Field(default=None, ge=1)
    revised_by: Id | None = Field(default=None, description="The id of the clinician who revised it: the token's "
                                  "subject (actor.id)")
    actor: Actor | None = Field(default=None, description="Who revised it, as their token said: subject and role "
                                "(absent on events from before issue 14)")


@event("planning", "plan_signed")
class PlanSigned(Event):
    """A signature on one version of a plan. A revision needs signing again."""

    plan_id: Id
    plan_version: int = Field(ge=1)
    signature: PlanSignature
    signed_by_clinician: bool
    signed_by_participant: bool


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
    episode_id: Id | None = None
    plan_version: int | None = Field(default=None, ge=1)
    trigger: str | None = Field(default=None, description="e.g. reassessment, attendance, goal_met, requested")
    phq9_baseline: int | None = Field(default=None, ge=0)
    phq9_latest: int | None = Field(default=None, ge=0)
    phq9_previous: int | None = Field(default=None, ge=0, description="The score before the latest")
    phq9_best: int | None = Field(default=None, ge=0, description="The lowest score so far, baseline included")
    goals_met: int | None = Field(default=None, ge=0)
    goals_total: int | None = Field(default=None, ge=0)
    open_safety_flags: int | None = Field(default=None, ge=0)
    criteria_met: tuple[str, ...] = ()
    reason_codes: tuple[str, ...] = ()
    recommended_level_of_care: LevelOfCare | None = None
    requested_by: Actor | None = Field(
        default=None, description="Who asked for the review (a goal met, a request, a safety flag resolved), as "
        "their token said; absent when events caused it (attendance, a re-assessment, a flag raised)")


@event("planning", "step_up_recommended")
class StepUpRecommended(Event):
    plan_id: Id
    episode_id: Id
    recommended_level_of_care: LevelOfCare
    reason_code: str
    recommended_at: datetime
    current_level_of_care: LevelOfCare | None = None
    review_id: Id | None = None
    reason_codes: tuple[str, ...] = ()


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
    review_id: Id | None = None
