"""Aftercare's own store: aftercare plans (with the relapse-prevention plan's content,
which never leaves this store), follow-ups, the participant's reminder contact, and the
outreach tasks opened for missed check-ins."""

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.clinical_safety.recording import SafetyFlagColumns
from services.eventing.database import UtcDateTime, utcnow
from services.web.idempotency import IdempotentRequestRow


class AftercareBase(DeclarativeBase):
    pass


class AftercarePlan(AftercareBase):
    __tablename__ = "aftercare_plans"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    participant_id: Mapped[str] = mapped_column(String(64), index=True)
    episode_id: Mapped[str] = mapped_column(String(64), unique=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    program_id: Mapped[str] = mapped_column(String(64))
    step_down_level: Mapped[str] = mapped_column(String(8))
    services: Mapped[list] = mapped_column(JSON)
    relapse_prevention_plan_id: Mapped[str] = mapped_column(String(64))
    relapse_prevention: Mapped[dict] = mapped_column(
        JSON, default=dict, doc="triggers, warning signs, coping strategies, supports, crisis resources")
    confirmed_by_participant: Mapped[bool] = mapped_column(Boolean, default=False)
    confirmed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    # who recorded the confirmation (the token's subject and role) and how it was given:
    # participant (their own session) or witnessed (attested_by, the staff member)
    confirmed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    confirmed_by_role: Mapped[str | None] = mapped_column(String(64), nullable=True)
    confirmation_kind: Mapped[str | None] = mapped_column(String(16), nullable=True)
    attested_by: Mapped[str | None] = mapped_column(String(64), nullable=True, doc="staff id, when witnessed")
    discharged_on: Mapped[date] = mapped_column(Date)
    discharged_at: Mapped[datetime | None] = mapped_column(
        UtcDateTime(), nullable=True, doc="when the follow-up clock started")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class FollowUp(AftercareBase):
    __tablename__ = "follow_ups"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    participant_id: Mapped[str] = mapped_column(String(64), index=True)
    episode_id: Mapped[str] = mapped_column(String(64), index=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    program_id: Mapped[str] = mapped_column(String(64))
    day_offset: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime())
    grace_until: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    # the flow runs on Prefect, made and cancelled by the dispatcher from committed rows (never
    # inside a handler's transaction): to_schedule -> scheduled ; to_cancel -> cancelled
    runs: Mapped[str] = mapped_column(String(16), default="to_schedule", index=True)
    flow_run_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    grace_flow_run_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    correlation_id: Mapped[str | None] = mapped_column(String(64), nullable=True, doc="of the step-down")
    causation_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    # scheduled -> open -> completed | missed (-> completed, a late answer) ; or cancelled
    status: Mapped[str] = mapped_column(String(20), default="scheduled")
    opened_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    # the reminder, sent by the dispatcher once the check-in is open: to_send -> sent
    reminder: Mapped[str | None] = mapped_column(String(16), nullable=True, index=True)
    reminder_attempts: Mapped[int] = mapped_column(Integer, default=0)
    reminder_next_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    reminder_channel: Mapped[str | None] = mapped_column(String(16), nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    missed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    escalation_level: Mapped[int | None] = mapped_column(Integer, nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    cancel_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    result: Mapped[str | None] = mapped_column(String(20), nullable=True)
    answers: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    how_they_say_they_are: Mapped[str | None] = mapped_column(String(4000), nullable=True)
    answered_by: Mapped[str | None] = mapped_column(String(64), nullable=True, doc="who recorded the answers")
    answered_by_role: Mapped[str | None] = mapped_column(String(64), nullable=True)


class IdempotentRequest(IdempotentRequestRow, AftercareBase):
    """A command's answer under its ``Idempotency-Key`` (services.web.commands); like the rows
    it answers about, it stays in aftercare's store."""

    __tablename__ = "idempotent_requests"


class ReminderContact(AftercareBase):
    """Where a participant wants check-in reminders: given to aftercare through its API.
    Never in an event or a log line."""

    __tablename__ = "reminder_contacts"

    participant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64), doc="the tenant of whoever gave it")
    program_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    email: Mapped[str] = mapped_column(String(320))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)


class OutreachTask(AftercareBase):
    """A care coordinator's (or, escalated, a supervisor's ...) task to reach a participant
    who missed a check-in."""

    __tablename__ = "outreach_tasks"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    participant_id: Mapped[str] = mapped_column(String(64), index=True)
    follow_up_id: Mapped[str] = mapped_column(String(64), unique=True)
    episode_id: Mapped[str] = mapped_column(String(64))
    escalation_level: Mapped[int] = mapped_column(Integer)
    assignee_role: Mapped[str] = mapped_column(String(64))
    respond_by: Mapped[datetime] = mapped_column(UtcDateTime())
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    outcome_code: Mapped[str | None] = mapped_column(String(32), nullable=True)


class AdditionalAnswer(AftercareBase):
    """An answer to a follow-up already completed or cancelled: kept (never refused), not a
    completion. Its safety part raises a flag like any answer; the rest is for the care team."""

    __tablename__ = "additional_answers"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    follow_up_id: Mapped[str] = mapped_column(String(64), index=True)
    participant_id: Mapped[str] = mapped_column(String(64), index=True)
    follow_up_status: Mapped[str] = mapped_column(String(20))
    answers: Mapped[dict] = mapped_column(JSON)
    how_they_say_they_are: Mapped[str | None] = mapped_column(String(4000), nullable=True)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    safety_flag_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    recorded_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    recorded_by_role: Mapped[str | None] = mapped_column(String(64), nullable=True)


class SafetyFlag(SafetyFlagColumns, AftercareBase):
    """A safety flag raised at a check-in; aftercare owns it: open -> acknowledged -> resolved,
    escalated while nobody acknowledges it (services.clinical_safety)."""

    __tablename__ = "safety_flags"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    follow_up_id: Mapped[str] = mapped_column(String(64), index=True)
    follow_up_status: Mapped[str] = mapped_column(String(20))
