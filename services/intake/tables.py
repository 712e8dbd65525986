"""Intake's own store. The participant's identifying details live here and only here."""

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, ForeignKey, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.eventing.database import UtcDateTime, utcnow


class IntakeBase(DeclarativeBase):
    pass


class Participant(IntakeBase):
    __tablename__ = "participants"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64), index=True)
    program_id: Mapped[str] = mapped_column(String(64))
    given_name: Mapped[str] = mapped_column(String(200))
    family_name: Mapped[str] = mapped_column(String(200))
    date_of_birth: Mapped[date] = mapped_column(Date)
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    phone: Mapped[str | None] = mapped_column(String(40), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Referral(IntakeBase):
    __tablename__ = "referrals"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    participant_id: Mapped[str] = mapped_column(ForeignKey("participants.id"), index=True)
    episode_id: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(40))
    prior_episode_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    status: Mapped[str] = mapped_column(String(40), default="awaiting_assessment")


class Assessment(IntakeBase):
    __tablename__ = "assessments"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    participant_id: Mapped[str] = mapped_column(ForeignKey("participants.id"), index=True)
    referral_id: Mapped[str] = mapped_column(ForeignKey("referrals.id"))
    episode_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(20))
    items: Mapped[dict] = mapped_column(JSON)
    scores: Mapped[list] = mapped_column(JSON)
    findings: Mapped[list] = mapped_column(JSON)
    narrative: Mapped[dict] = mapped_column(JSON, doc="medical history, symptoms, challenges: stays here")
    goals: Mapped[list] = mapped_column(JSON, doc="the participant's goals in their own words: stays here")
    recommended_level: Mapped[str] = mapped_column(String(8))
    admitted: Mapped[bool] = mapped_column(Boolean)
    safety_flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    completed_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    notes: Mapped[str | None] = mapped_column(Text, nullable=True)
