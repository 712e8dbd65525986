"""Scheduling's own store: every placed session and its attendance."""

from datetime import datetime

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.eventing.database import UtcDateTime


class SchedulingBase(DeclarativeBase):
    pass


class Session(SchedulingBase):
    __tablename__ = "sessions"
    __table_args__ = (Index("ix_sessions_time", "starts_at"),)

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
    group_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    clinician_id: Mapped[str] = mapped_column(String(64))
    mode: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="scheduled")
    minutes_attended: Mapped[int | None] = mapped_column(Integer, nullable=True)
    missed_reason: Mapped[str | None] = mapped_column(String(40), nullable=True)
