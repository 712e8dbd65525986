"""Scheduling's own store: placed sessions and their attendance, each participant's plan
as scheduled, the program calendar as edited, clinicians' absences, cancelled groups."""

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Float, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.eventing.database import UtcDateTime, utcnow
from services.web.idempotency import IdempotentRequestRow


class SchedulingBase(DeclarativeBase):
    pass


class Session(SchedulingBase):
    __tablename__ = "sessions"
    __table_args__ = (Index("ix_sessions_time", "starts_at"), Index("ix_sessions_clinician", "clinician_id"))

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    participant_id: Mapped[str] = mapped_column(String(64), index=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    program_id: Mapped[str] = mapped_column(String(64))
    plan_id: Mapped[str] = mapped_column(String(64))
    plan_version: Mapped[int] = mapped_column(Integer)
    intervention_id: Mapped[str] = mapped_column(String(64))
    modality: Mapped[str] = mapped_column(String(40))
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime())
    week_start: Mapped[date | None] = mapped_column(Date, nullable=True)  # the plan week (local) it counts in
    group_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    clinician_id: Mapped[str] = mapped_column(String(64))
    place: Mapped[str | None] = mapped_column(String(64), nullable=True)
    mode: Mapped[str] = mapped_column(String(20))
    # scheduled -> checked_in -> attended | missed; scheduled | checked_in -> cancelled
    status: Mapped[str] = mapped_column(String(20), default="scheduled")
    checked_in_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    minutes_attended: Mapped[int | None] = mapped_column(Integer, nullable=True)
    missed_reason: Mapped[str | None] = mapped_column(String(40), nullable=True)
    cancel_reason: Mapped[str | None] = mapped_column(String(40), nullable=True)
    revision: Mapped[int] = mapped_column(Integer, default=0)  # the iCalendar SEQUENCE
    # who checked the participant in, recorded the attendance, cancelled it: the token's subject
    # and role (none when scheduling itself cancelled it: discharge, re-placement)
    checked_in_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    checked_in_by_role: Mapped[str | None] = mapped_column(String(64), nullable=True)
    recorded_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    recorded_by_role: Mapped[str | None] = mapped_column(String(64), nullable=True)
    cancelled_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    cancelled_by_role: Mapped[str | None] = mapped_column(String(64), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)


class ParticipantSchedule(SchedulingBase):
    """The plan a participant's sessions were placed for, and their availability."""

    __tablename__ = "participant_schedules"

    participant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    program_id: Mapped[str] = mapped_column(String(64))
    plan_id: Mapped[str] = mapped_column(String(64))
    plan_version: Mapped[int] = mapped_column(Integer)
    requirements_json: Mapped[str] = mapped_column(Text)
    availability_json: Mapped[str] = mapped_column(Text)
    weekly_hours_minimum: Mapped[float] = mapped_column(Float)
    start_date: Mapped[date] = mapped_column(Date)
    expected_weeks: Mapped[int] = mapped_column(Integer)
    attendance_mode: Mapped[str] = mapped_column(String(20))
    discharged: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)


class CalendarDocument(SchedulingBase):
    """The program calendar as edited through the API (seeded from config/calendar.yaml)."""

    __tablename__ = "calendar_documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    document_json: Mapped[str] = mapped_column(Text)
    updated_by: Mapped[str | None] = mapped_column(String(64), nullable=True, doc="none: seeded")
    updated_by_role: Mapped[str | None] = mapped_column(String(64), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)


class ClinicianAbsence(SchedulingBase):
    __tablename__ = "clinician_absences"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    clinician_id: Mapped[str] = mapped_column(String(64), index=True)
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime())
    reason_code: Mapped[str] = mapped_column(String(40))
    recorded_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    recorded_by_role: Mapped[str | None] = mapped_column(String(64), nullable=True)


class GroupCancellation(SchedulingBase):
    __tablename__ = "group_cancellations"

    group_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    on_date: Mapped[date] = mapped_column(Date, primary_key=True)  # local date of the meeting
    reason_code: Mapped[str] = mapped_column(String(40))
    recorded_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    recorded_by_role: Mapped[str | None] = mapped_column(String(64), nullable=True)


class HoursAlert(SchedulingBase):
    """HoursBelowMinimum is announced once per participant and week."""

    __tablename__ = "hours_alerts"

    participant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    week_start: Mapped[date] = mapped_column(Date, primary_key=True)
    raised_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class IdempotentRequest(IdempotentRequestRow, SchedulingBase):
    """A command's answer under its ``Idempotency-Key`` (services.web.commands)."""

    __tablename__ = "idempotent_requests"


class PlacementLock(SchedulingBase):
    """One row written first by every change to the schedule: it takes the database's
    write lock before anything is read, so two changes (two events for one participant,
    or an event and an API call) are placed one after the other, never on stale reads."""

    __tablename__ = "placement_lock"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    counter: Mapped[int] = mapped_column(Integer, default=0)
