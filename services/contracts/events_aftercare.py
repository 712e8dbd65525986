"""Events the aftercare service produces (topic ``continuum.aftercare.events``)."""

from datetime import date, datetime
from enum import StrEnum

from pydantic import Field

from .base import Actor, Event, Id, event
from .codes import (
    AftercareService,
    FollowUpStatus,
    LevelOfCare,
    RelapseRisk,
    RiskSeverity,
    SafetyDisposition,
    SafetySource,
)
from .safety_flags import SafetyFlagAcknowledgedFields, SafetyFlagEscalatedFields, SafetyFlagResolvedFields


class ConfirmationKind(StrEnum):
    """How a participant's confirmation of their aftercare plan was given."""

    PARTICIPANT = "participant"  # in the participant's own authenticated session
    WITNESSED = "witnessed"      # a staff member attests the participant agreed (attested_by); not their own act


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
    actor: Actor | None = Field(default=None, description="Who recorded the check-in answers, as their access "
                                "token said (subject and role)")


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
    actor: Actor | None = Field(default=None, description="The flow run's identity that checked the grace "
                                "window, as its access token said (subject and role 'workflow')")


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
    plan (whose content stays in aftercare's store): in their own session (``confirmation_kind``
    participant, ``actor`` the participant), or witnessed by a staff member (``witnessed``,
    ``attested_by`` and ``actor`` the staff member), never a staff member as the participant."""

    aftercare_plan_id: Id
    episode_id: Id
    relapse_prevention_plan_id: Id
    confirmed_at: datetime
    actor: Actor | None = Field(default=None, description="Who recorded the confirmation, as their access token "
                                "said (subject and role)")
    confirmation_kind: ConfirmationKind | None = Field(
        default=None, description="participant: the participant's own session; witnessed: a staff member attests it")
    attested_by: Id | None = Field(default=None, description="The staff member (token subject) who witnessed "
                                   "the participant's confirmation; none when the participant confirmed")


@event("aftercare", "follow_up_cancelled")
class FollowUpCancelled(Event):
    """A check-in that will not take place, e.g. after a readmission."""

    follow_up_id: Id
    episode_id: Id
    reason_code: str = Field(description="e.g. 'readmitted', 'stepped_up'")
    cancelled_at: datetime


# --- safety flags raised at check-ins: aftercare took the answer, aftercare owns the flag -------


@event("aftercare", "safety_risk_flagged")
class CheckInSafetyRiskFlagged(Event):
    """A safety-relevant answer at an aftercare check-in (PHQ-9 item 9 above 0 or a positive
    C-SSRS screen), whatever the follow-up's state: a late answer, or one to a follow-up
    already completed or cancelled, is stored and flagged, never refused. Aftercare owns the
    flag: acknowledgement, resolution and escalation follow as aftercare events."""

    flag_id: Id
    episode_id: Id
    follow_up_id: Id
    source: SafetySource = SafetySource.AFTERCARE_CHECK_IN
    follow_up_status: str = Field(description="The follow-up's state when the answer came: scheduled, open, "
                                  "missed, completed (an additional answer) or cancelled")
    severity: RiskSeverity
    triggers: tuple[str, ...] = Field(description="Codes, e.g. 'phq9_item9', 'cssrs_high_risk'")
    disposition: SafetyDisposition = Field(description="What the triage table calls for")
    phq9_item9: int | None = Field(default=None, ge=0, le=3)
    cssrs_risk: str | None = Field(default=None, description="The C-SSRS screener's triage: low, moderate, high")
    flagged_at: datetime
    respond_by: datetime
    actor: Actor | None = Field(default=None, description="Who recorded the answer, as their access token said "
                                "(subject and role)")


@event("aftercare", "safety_flag_acknowledged")
class SafetyFlagAcknowledged(SafetyFlagAcknowledgedFields):
    """A clinician (the token's subject) took a check-in flag: its escalation stops."""


@event("aftercare", "safety_flag_resolved")
class SafetyFlagResolved(SafetyFlagResolvedFields):
    """A clinician (the token's subject) resolved a check-in flag, with the action taken."""


@event("aftercare", "safety_flag_escalated")
class SafetyFlagEscalated(SafetyFlagEscalatedFields):
    """Nobody acknowledged a check-in flag by its deadline: it goes up the ladder (on-call
    clinician, clinical supervisor, program director) with a new deadline."""
