"""Events the intake service produces (topic ``continuum.intake.events``)."""

from datetime import datetime, time

from pydantic import BaseModel, ConfigDict, Field

from .base import Event, Id, event
from .codes import (
    AssessmentKind,
    AttendanceMode,
    Commitment,
    Finding,
    Instrument,
    LevelOfCare,
    ReferralSource,
    RiskSeverity,
    Strength,
    Weekday,
)


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


@event("intake", "referral_received")
class ReferralReceived(Event):
    referral_id: Id
    source: ReferralSource
    received_at: datetime
    prior_episode_id: Id | None = Field(
        default=None, description="The earlier episode, for a step back up from aftercare"
    )


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
    goal_ids: tuple[Id, ...] = Field(
        default=(), description="Ids of the participant's goals; their words stay in intake"
    )
    availability: tuple[AvailabilityWindow, ...]
    commitments: tuple[Commitment, ...] = ()
    attendance_mode: AttendanceMode = AttendanceMode.EITHER
    adolescent: bool = False
    recommended_level_of_care: LevelOfCare
    admitted_to_iop: bool


@event("intake", "safety_risk_flagged")
class SafetyRiskFlagged(Event):
    flag_id: Id
    assessment_id: Id
    severity: RiskSeverity
    triggers: tuple[str, ...] = Field(description="Codes, e.g. 'phq9_item9', 'cssrs_positive'")
    flagged_at: datetime
    respond_by: datetime


@event("intake", "referred_out")
class ReferredOut(Event):
    referral_id: Id
    assessment_id: Id
    recommended_level_of_care: LevelOfCare
    reason_code: str
