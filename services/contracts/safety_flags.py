"""The fields of a safety flag's lifecycle events, shared by every producer that owns flags
(the service that took the answer: intake for assessments, aftercare for check-ins). Not
registered here: each producer declares its own event types from these bases."""

from datetime import datetime

from pydantic import Field

from .base import Actor, Event, Id
from .codes import RiskSeverity, SafetyAction


class SafetyFlagAcknowledgedFields(Event):
    """A clinician (the token's subject) took the flag: its escalation stops."""

    flag_id: Id
    episode_id: Id
    severity: RiskSeverity
    acknowledged_by: Id = Field(description="The staff id (token subject) who acknowledged it")
    acknowledged_at: datetime
    flagged_at: datetime
    actor: Actor | None = Field(default=None, description="Who acknowledged it, as their access token said "
                                "(subject and role); acknowledged_by is its id")


class SafetyFlagResolvedFields(Event):
    flag_id: Id
    episode_id: Id
    severity: RiskSeverity
    action_taken: SafetyAction
    resolved_by: Id = Field(description="The staff id (token subject) who resolved it")
    resolved_at: datetime
    flagged_at: datetime
    actor: Actor | None = Field(default=None, description="Who resolved it, as their access token said "
                                "(subject and role); resolved_by is its id")


class SafetyFlagEscalatedFields(Event):
    """Nobody acknowledged the flag by its deadline: it goes up the ladder (on-call clinician,
    clinical supervisor, program director) with a new deadline."""

    flag_id: Id
    episode_id: Id
    severity: RiskSeverity
    escalation_level: int = Field(ge=1)
    escalated_to: str = Field(description="Role code, e.g. 'on_call_clinician', 'clinical_supervisor'")
    overdue_since: datetime = Field(description="The deadline that passed")
    escalated_at: datetime
    respond_by: datetime = Field(description="This level's deadline")
