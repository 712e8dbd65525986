"""Planning's own store: plan versions and each participant's progress."""

from datetime import datetime

from sqlalchemy import JSON, Boolean, Float, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.eventing.database import UtcDateTime, utcnow


class PlanningBase(DeclarativeBase):
    pass


class PlanVersion(PlanningBase):
    """Every version of every plan is kept; the newest is the plan in force."""

    __tablename__ = "plan_versions"

    plan_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    participant_id: Mapped[str] = mapped_column(String(64), index=True)
    episode_id: Mapped[str] = mapped_column(String(64), index=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    program_id: Mapped[str] = mapped_column(String(64))
    body: Mapped[dict] = mapped_column(JSON, doc="the PlanCreated/PlanRevised payload")
    reason_code: Mapped[str] = mapped_column(String(64), default="initial")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Progress(PlanningBase):
    __tablename__ = "progress"

    participant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    plan_id: Mapped[str] = mapped_column(String(64))
    episode_id: Mapped[str] = mapped_column(String(64))
    sessions_attended: Mapped[int] = mapped_column(Integer, default=0)
    sessions_missed: Mapped[int] = mapped_column(Integer, default=0)
    minutes_attended: Mapped[float] = mapped_column(Float, default=0)
    step_down_declared: Mapped[bool] = mapped_column(Boolean, default=False)
