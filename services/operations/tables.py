"""The operations store: the read model's tables (ids, codes, counts and times only).
Rows are written only through commutative upserts (domain/upsert.py)."""

from datetime import datetime

from sqlalchemy import Boolean, Float, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.eventing.database import UtcDateTime

Id = String(64)


class OperationsBase(DeclarativeBase):
    pass


class _Owned:
    participant_id: Mapped[str | None] = mapped_column(Id, nullable=True, index=True)
    tenant_id: Mapped[str | None] = mapped_column(Id, nullable=True, index=True)
    program_id: Mapped[str | None] = mapped_column(Id, nullable=True, index=True)


def _time():
    return mapped_column(UtcDateTime(), nullable=True)


def _text(n: int = 64):
    return mapped_column(String(n), nullable=True)


class Referral(_Owned, OperationsBase):
    __tablename__ = "referrals"
    referral_id: Mapped[str] = mapped_column(Id, primary_key=True)
    source: Mapped[str | None] = _text()
    prior_episode_id: Mapped[str | None] = _text()
    received_at: Mapped[datetime | None] = _time()
    episode_id: Mapped[str | None] = _text()
    admitted: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    assessed_level: Mapped[str | None] = _text(8)
    assessed_at: Mapped[datetime | None] = _time()
    referred_out_at: Mapped[datetime | None] = _time()
    referred_out_reason: Mapped[str | None] = _text()


class Episode(_Owned, OperationsBase):
    __tablename__ = "episodes"
    episode_id: Mapped[str] = mapped_column(Id, primary_key=True)
    referral_id: Mapped[str | None] = _text()
    level_of_care: Mapped[str | None] = _text(8)
    plan_level_of_care: Mapped[str | None] = _text(8)
    step_down_level: Mapped[str | None] = _text(8)
    admitted_at: Mapped[datetime | None] = _time()
    planned_at: Mapped[datetime | None] = _time()
    ready_for_step_down_at: Mapped[datetime | None] = _time()
    discharged_at: Mapped[datetime | None] = _time()
    discharged_on: Mapped[str | None] = _text(10)
    discharge_reason: Mapped[str | None] = _text()
    follow_ups_scheduled_at: Mapped[datetime | None] = _time()
    aftercare_completed_at: Mapped[datetime | None] = _time()


class Plan(_Owned, OperationsBase):
    __tablename__ = "plans"
    plan_id: Mapped[str] = mapped_column(Id, primary_key=True)
    episode_id: Mapped[str | None] = _text()
    level_of_care: Mapped[str | None] = _text(8)
    weekly_hours_minimum: Mapped[float | None] = mapped_column(Float, nullable=True)
    weekly_hours_target: Mapped[float | None] = mapped_column(Float, nullable=True)
    planned_at: Mapped[datetime | None] = _time()
    scheduled_at: Mapped[datetime | None] = _time()


class Week(_Owned, OperationsBase):
    """Hours scheduled against the minimum, per plan version and week."""

    __tablename__ = "weeks"
    plan_id: Mapped[str] = mapped_column(Id, primary_key=True)
    plan_version: Mapped[int] = mapped_column(Integer, primary_key=True)
    week_start: Mapped[str] = mapped_column(String(10), primary_key=True)
    hours_scheduled: Mapped[float | None] = mapped_column(Float, nullable=True)
    hours_required: Mapped[float | None] = mapped_column(Float, nullable=True)


class HoursAlert(_Owned, OperationsBase):
    __tablename__ = "hours_alerts"
    plan_id: Mapped[str] = mapped_column(Id, primary_key=True)
    week_start: Mapped[str] = mapped_column(String(10), primary_key=True)
    hours_required: Mapped[float | None] = mapped_column(Float, nullable=True)
    hours_attended: Mapped[float | None] = mapped_column(Float, nullable=True)
    hours_scheduled: Mapped[float | None] = mapped_column(Float, nullable=True)


class Session(_Owned, OperationsBase):
    __tablename__ = "sessions"
    session_id: Mapped[str] = mapped_column(Id, primary_key=True)
    plan_id: Mapped[str | None] = _text()
    modality: Mapped[str | None] = _text()
    week_start: Mapped[str | None] = _text(10)
    starts_at: Mapped[datetime | None] = _time()
    minutes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    scheduled_at: Mapped[datetime | None] = _time()
    attended_at: Mapped[datetime | None] = _time()
    minutes_attended: Mapped[int | None] = mapped_column(Integer, nullable=True)
    missed_at: Mapped[datetime | None] = _time()
    missed_reason: Mapped[str | None] = _text()
    cancelled_at: Mapped[datetime | None] = _time()
    reschedules: Mapped[int | None] = mapped_column(Integer, nullable=True)


class FollowUp(_Owned, OperationsBase):
    __tablename__ = "follow_ups"
    follow_up_id: Mapped[str] = mapped_column(Id, primary_key=True)
    episode_id: Mapped[str | None] = _text()
    day_offset: Mapped[int | None] = mapped_column(Integer, nullable=True)
    due_at: Mapped[datetime | None] = _time()
    scheduled_at: Mapped[datetime | None] = _time()
    completed_at: Mapped[datetime | None] = _time()
    result: Mapped[str | None] = _text(20)
    missed_at: Mapped[datetime | None] = _time()
    escalation_level: Mapped[int | None] = mapped_column(Integer, nullable=True)


class SafetyFlag(_Owned, OperationsBase):
    __tablename__ = "safety_flags"
    flag_id: Mapped[str] = mapped_column(Id, primary_key=True)
    severity: Mapped[str | None] = _text(20)
    triggers: Mapped[str | None] = _text(500)
    flagged_at: Mapped[datetime | None] = _time()
    respond_by: Mapped[datetime | None] = _time()
    source: Mapped[str | None] = _text(40)
    acknowledged_at: Mapped[datetime | None] = _time()
    resolved_at: Mapped[datetime | None] = _time()
    action_taken: Mapped[str | None] = _text(40)
    escalation_level: Mapped[int | None] = mapped_column(Integer, nullable=True)
    escalated_to: Mapped[str | None] = _text()


class DeadLetterRow(OperationsBase):
    __tablename__ = "dead_letters"
    topic: Mapped[str] = mapped_column(String(255), primary_key=True)
    partition: Mapped[int] = mapped_column(Integer, primary_key=True)
    offset: Mapped[int] = mapped_column(Integer, primary_key=True)
    consumer: Mapped[str | None] = _text()
    reason_code: Mapped[str | None] = _text(40)
    reason: Mapped[str | None] = _text(500)
    original_topic: Mapped[str | None] = _text(255)
    event_type: Mapped[str | None] = _text(255)
    failed_at: Mapped[str | None] = _text(40)


class EventCount(OperationsBase):
    __tablename__ = "event_counts"
    event_type: Mapped[str] = mapped_column(String(255), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(Id, primary_key=True)
    program_id: Mapped[str] = mapped_column(Id, primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


TABLES: dict[str, type[OperationsBase]] = {
    m.__tablename__: m for m in (Referral, Episode, Plan, Week, HoursAlert, Session, FollowUp,
                                 SafetyFlag, DeadLetterRow, EventCount)}
