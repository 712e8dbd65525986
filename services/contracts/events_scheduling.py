"""Events the scheduling service produces (topic ``continuum.scheduling.events``)."""

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from .base import Actor, Event, Id, event
from .codes import AttendanceMode, MissedReason, Modality


class ScheduledSession(BaseModel):
    model_config = ConfigDict(frozen=True)

    session_id: Id
    intervention_id: Id
    modality: Modality
    starts_at: datetime
    ends_at: datetime
    group_id: Id | None = None
    clinician_id: Id
    mode: AttendanceMode
    place: str | None = Field(default=None, description="Room code or 'telehealth'")
    week_start: date | None = Field(default=None, description="The plan week the session counts in")


def _acted_by(what: str):
    """The optional field naming who did it (tolerant readers: absent in events written before)."""
    return Field(default=None, description=f"Who {what}, as their access token said (subject and role); "
                 "none when scheduling did it on its own (an event it consumed, the discharge)")


class UnmetRequirement(BaseModel):
    model_config = ConfigDict(frozen=True)

    intervention_id: Id
    sessions_missing: int = Field(ge=1)
    reason_code: str
    week_start: date | None = None


class WeekHours(BaseModel):
    model_config = ConfigDict(frozen=True)

    week_start: date
    hours_scheduled: float = Field(ge=0)
    hours_required: float = Field(ge=0)


@event("scheduling", "sessions_scheduled")
class SessionsScheduled(Event):
    plan_id: Id
    plan_version: int = Field(ge=1)
    week_start: date
    sessions: tuple[ScheduledSession, ...]
    weekly_hours_scheduled: float = Field(ge=0)
    weekly_hours_required: float = Field(ge=0)
    unmet: tuple[UnmetRequirement, ...] = ()
    reason_code: str | None = Field(
        default=None, description="Why placement ran: plan_created, plan_revised, clinician_absent, ...")
    weeks: tuple[WeekHours, ...] = Field(
        default=(), description="Every plan week this placement covered, from week_start; "
        "weekly_hours_scheduled is the first's")
    actor: Actor | None = _acted_by("made the change that re-placed the sessions (availability, absence, "
                                   "cancelled group)")


@event("scheduling", "session_rescheduled")
class SessionRescheduled(Event):
    session_id: Id
    previous_starts_at: datetime
    starts_at: datetime
    ends_at: datetime
    reason_code: str
    group_id: Id | None = None
    clinician_id: Id | None = None
    plan_version: int | None = Field(default=None, ge=1)
    actor: Actor | None = _acted_by("made the change that moved the session")


@event("scheduling", "session_cancelled")
class SessionCancelled(Event):
    session_id: Id
    reason_code: str
    cancelled_at: datetime
    starts_at: datetime | None = None
    actor: Actor | None = _acted_by("cancelled the session (or made the change that did)")


@event("scheduling", "session_attended")
class SessionAttended(Event):
    session_id: Id
    plan_id: Id
    modality: Modality
    minutes_attended: int = Field(ge=0, le=600)
    attended_at: datetime
    actor: Actor | None = _acted_by("recorded the attendance")


@event("scheduling", "session_missed")
class SessionMissed(Event):
    session_id: Id
    plan_id: Id
    modality: Modality
    reason: MissedReason
    recorded_at: datetime
    actor: Actor | None = _acted_by("recorded the miss")


@event("scheduling", "hours_below_minimum")
class HoursBelowMinimum(Event):
    plan_id: Id
    week_start: date
    hours_scheduled: float = Field(ge=0)
    hours_attended: float = Field(ge=0)
    hours_required: float = Field(ge=0)
    hours_still_possible: float | None = Field(
        default=None, ge=0, description="Attended plus still open this week: below the minimum")


@event("scheduling", "scheduling_failed")
class SchedulingFailed(Event):
    plan_id: Id
    plan_version: int = Field(ge=1)
    reasons: tuple[UnmetRequirement, ...]
    failed_at: datetime
