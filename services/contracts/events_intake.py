"""Events the intake service produces (topic ``continuum.intake.events``)."""

from datetime import datetime, time

from pydantic import BaseModel, ConfigDict, Field

from .base import Actor, Event, Id, event
from .codes import (
    AsamDimension,
    AssessmentKind,
    AttendanceMode,
    Commitment,
    Finding,
    Instrument,
    LevelOfCare,
    ReferralSource,
    RiskSeverity,
    SafetyDisposition,
    SafetySource,
    Strength,
    Weekday,
)
from .safety_flags import SafetyFlagAcknowledgedFields, SafetyFlagEscalatedFields, SafetyFlagResolvedFields
from .sealed import SealedValue


class InstrumentScore(BaseModel):
    model_config = ConfigDict(frozen=True)

    instrument: Instrument
    total: int = Field(ge=0)
    band: str = Field(description="Severity band or screen result, e.g. 'moderate', 'positive'")


class AvailabilityWindow(BaseModel):
    """A weekly window, in the program's local time, when the participant can attend."""

    model_config = ConfigDict(frozen=True)

    day: Weekday
    start: time
    end: time


class DimensionRating(BaseModel):
    """One ASAM-style dimension and its rating, 0 (no problem) to 4 (most severe)."""

    model_config = ConfigDict(frozen=True)

    dimension: AsamDimension
    rating: int = Field(ge=0, le=4)


class SectionSignature(BaseModel):
    """Who signed one section of the assessment: an id and role, no name. Since issue 14 the
    signer is the caller's token (``actor``); ``staff_id`` and ``role`` repeat its id and role for
    readers of the first shape (before, they were stated in the request body)."""

    model_config = ConfigDict(frozen=True)

    section: str = Field(description="e.g. 'clinical_interview', 'psychiatric_medical'")
    staff_id: Id = Field(description="The signer's id: the token's subject (actor.id)")
    role: str = Field(description="The role the signer signed in: the token's role (actor.role)")
    signed_at: datetime
    actor: Actor | None = Field(default=None, description="Who signed, as their token said (absent on events "
                                "from before issue 14, whose signer was stated in the request body)")


class LevelOfCareOverride(BaseModel):
    """A clinician's override of the rules' recommendation, with the reason as a code."""

    model_config = ConfigDict(frozen=True)

    rule_level_of_care: LevelOfCare = Field(description="What the rules recommended")
    reason_code: str
    overridden_by: Id = Field(description="The id of the clinician who overrode it: the token's subject "
                              "(the event's completed_by)")


class GoalStatement(BaseModel):
    """One of the participant's goals in their own words, sealed for the participant
    (associated data: the participant id and ``goal:<goal_id>``)."""

    model_config = ConfigDict(frozen=True)

    goal_id: Id
    text: SealedValue = Field(description="The goal as the participant said it, sealed")


@event("intake", "referral_received")
class ReferralReceived(Event):
    referral_id: Id
    source: ReferralSource
    received_at: datetime
    prior_episode_id: Id | None = Field(
        default=None, description="The earlier episode, for a step back up from aftercare"
    )
    episode_id: Id | None = Field(default=None, description="The episode this referral opens")


@event("intake", "assessment_completed")
class AssessmentCompleted(Event):
    assessment_id: Id
    referral_id: Id
    episode_id: Id
    kind: AssessmentKind
    completed_at: datetime
    scores: tuple[InstrumentScore, ...]
    findings: tuple[Finding, ...]
    strengths: tuple[Strength, ...] = ()
    goal_ids: tuple[Id, ...] = Field(default=(), description="Ids of the participant's goals")
    goals: tuple[GoalStatement, ...] = Field(
        default=(), description="The goals in the participant's own words, each sealed for the participant "
        "(same ids as goal_ids); unreadable once the participant's data key is shredded")
    availability: tuple[AvailabilityWindow, ...]
    commitments: tuple[Commitment, ...] = ()
    attendance_mode: AttendanceMode = AttendanceMode.EITHER
    adolescent: bool = False
    recommended_level_of_care: LevelOfCare
    admitted_to_iop: bool
    dimensions: tuple[DimensionRating, ...] = Field(
        default=(), description="The six ASAM-style dimension ratings behind the recommendation")
    rationale_codes: tuple[str, ...] = Field(
        default=(), description="Why this level, as codes, e.g. 'iop_appropriate', 'd3_emotional_behavioural_2'")
    override: LevelOfCareOverride | None = Field(
        default=None, description="Set when a clinician overrode the rules' recommendation")
    safety_flag_ids: tuple[Id, ...] = Field(
        default=(), description="The SafetyRiskFlagged events raised during this assessment")
    signatures: tuple[SectionSignature, ...] = ()
    confirmed_by: Id | None = Field(
        default=None, description="The id (the token's subject, completed_by.id) of the clinician who confirmed "
        "a recommendation that needed it (rationale codes 'needs_confirmation:...')")
    completed_by: Actor | None = Field(
        default=None, description="Who completed the assessment (and made any override or confirmation), as "
        "their token said: subject and role (absent on events from before issue 14)")


@event("intake", "safety_risk_flagged")
class SafetyRiskFlagged(Event):
    flag_id: Id
    assessment_id: Id
    severity: RiskSeverity
    triggers: tuple[str, ...] = Field(
        description="Codes, e.g. 'phq9_item9', 'cssrs_low_risk', 'cssrs_moderate_risk', 'cssrs_high_risk', "
        "'cssrs_imminent_risk'")
    flagged_at: datetime
    respond_by: datetime
    instrument: Instrument | None = Field(default=None, description="The instrument whose answers raised it")
    episode_id: Id | None = None
    source: SafetySource | None = Field(default=None, description="Where the answer was taken (an assessment)")
    disposition: SafetyDisposition | None = Field(default=None, description="What the triage table calls for")


@event("intake", "safety_flag_acknowledged")
class AssessmentSafetyFlagAcknowledged(SafetyFlagAcknowledgedFields):
    """A clinician (the token's subject) took a flag raised during an assessment: its escalation stops."""


@event("intake", "safety_flag_resolved")
class AssessmentSafetyFlagResolved(SafetyFlagResolvedFields):
    """A clinician (the token's subject) resolved a flag raised during an assessment, with the action taken."""


@event("intake", "safety_flag_escalated")
class AssessmentSafetyFlagEscalated(SafetyFlagEscalatedFields):
    """Nobody acknowledged a flag raised during an assessment by its deadline: it goes up the
    ladder (on-call clinician, clinical supervisor, program director) with a new deadline."""


@event("intake", "referred_out")
class ReferredOut(Event):
    referral_id: Id
    assessment_id: Id
    recommended_level_of_care: LevelOfCare
    reason_code: str
    rationale_codes: tuple[str, ...] = ()
    episode_id: Id | None = None
