"""Intake's own store. The participant's identifying details and the narrative live here and
only here; the goals in the participant's words live here in clear and travel sealed."""

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.clinical_safety.recording import SafetyFlagColumns
from services.eventing.database import UtcDateTime, utcnow
from services.web.idempotency import IdempotentRequestRow


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
    reason: Mapped[str | None] = mapped_column(Text, nullable=True, doc="free text: stays here")


class Assessment(IntakeBase):
    """One assessment (initial or re-assessment): open while its sections are recorded and
    signed and its instruments scored; completed once, with the level-of-care decision."""

    __tablename__ = "assessments"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    participant_id: Mapped[str] = mapped_column(ForeignKey("participants.id"), index=True)
    referral_id: Mapped[str] = mapped_column(ForeignKey("referrals.id"))
    episode_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="open")
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    scores: Mapped[list] = mapped_column(JSON, default=list)
    findings: Mapped[list] = mapped_column(JSON, default=list)
    dimensions: Mapped[dict] = mapped_column(JSON, default=dict)
    rationale: Mapped[list] = mapped_column(JSON, default=list)
    recommended_level: Mapped[str | None] = mapped_column(String(8), nullable=True)
    rule_level: Mapped[str | None] = mapped_column(String(8), nullable=True)
    override_reason_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    override_note: Mapped[str | None] = mapped_column(Text, nullable=True, doc="free text: stays here")
    overridden_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    admitted: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    safety_flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    completed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class AssessmentSection(IntakeBase):
    """One discipline's section: its content (narrative included: it stays here), who
    recorded it and who signed it."""

    __tablename__ = "assessment_sections"
    __table_args__ = (UniqueConstraint("assessment_id", "section"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    assessment_id: Mapped[str] = mapped_column(ForeignKey("assessments.id"), index=True)
    section: Mapped[str] = mapped_column(String(40))
    content: Mapped[dict] = mapped_column(JSON)
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    signed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    signed_role: Mapped[str | None] = mapped_column(String(40), nullable=True)
    signed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class InstrumentResponse(IntakeBase):
    """One instrument's answers and score in an assessment (re-scoring replaces them)."""

    __tablename__ = "instrument_responses"
    __table_args__ = (UniqueConstraint("assessment_id", "instrument"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    assessment_id: Mapped[str] = mapped_column(ForeignKey("assessments.id"), index=True)
    instrument: Mapped[str] = mapped_column(String(20))
    answers: Mapped[dict] = mapped_column(JSON)
    total: Mapped[int] = mapped_column(Integer)
    band: Mapped[str] = mapped_column(String(40))
    administered_by: Mapped[str] = mapped_column(String(64))
    scored_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class SafetyFlag(SafetyFlagColumns, IntakeBase):
    """A safety finding raised during an assessment (SafetyRiskFlagged). Intake took the answer,
    intake owns the flag: acknowledged, resolved and escalated here (services.clinical_safety)."""

    __tablename__ = "safety_flags"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    assessment_id: Mapped[str] = mapped_column(ForeignKey("assessments.id"), index=True)
    instrument: Mapped[str] = mapped_column(String(20))


class AdditionalInstrumentAnswer(IntakeBase):
    """An instrument answered after its assessment completed: kept (never refused) and, with a
    safety finding, flagged; the completed assessment's scores and decision do not change."""

    __tablename__ = "additional_instrument_answers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    assessment_id: Mapped[str] = mapped_column(ForeignKey("assessments.id"), index=True)
    instrument: Mapped[str] = mapped_column(String(20))
    answers: Mapped[dict] = mapped_column(JSON)
    total: Mapped[int] = mapped_column(Integer)
    band: Mapped[str] = mapped_column(String(40))
    administered_by: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    safety_flag_id: Mapped[str | None] = mapped_column(String(64), nullable=True)


class IdempotentRequest(IdempotentRequestRow, IntakeBase):
    """A command made with an ``Idempotency-Key``: its fingerprint and the answer given, stored
    in the transaction of its effects (services/web/idempotency.py)."""

    __tablename__ = "idempotent_requests"
