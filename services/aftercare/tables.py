"""Aftercare's own store: aftercare plans (with the relapse-prevention plan's content,
which never leaves this store), follow-ups and the reminders sent."""

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.eventing.database import UtcDateTime, utcnow


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
    relapse_prevention: Mapped[dict] = mapped_column(JSON, default=dict,
                                                     doc="triggers, warning signs, coping, supports")
    confirmed_by_participant: Mapped[bool] = mapped_column(Boolean, default=False)
    discharged_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class FollowUp(AftercareBase):
    __tablename__ = "follow_ups"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    participant_id: Mapped[str] = mapped_column(String(64), index=True)
    episode_id: Mapped[str] = mapped_column(String(64))
    tenant_id: Mapped[str] = mapped_column(String(64))
    program_id: Mapped[str] = mapped_column(String(64))
    day_offset: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime())
    flow_run_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), default="scheduled")
    opened_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    result: Mapped[str | None] = mapped_column(String(20), nullable=True)
    answers: Mapped[dict | None] = mapped_column(JSON, nullable=True)
