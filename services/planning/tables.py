"""Planning's own store: plan versions and signatures, each plan's review state (scores,
attendance, goals met), safety flags, reviews held, inputs parked with their reason, and the
goals in the participant's words as they arrived: sealed (never a clear copy)."""

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, Float, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.eventing.database import UtcDateTime, utcnow
from services.web.idempotency import IdempotentRequestRow


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


class GoalWords(PlanningBase):
    """A goal in the participant's own words, kept sealed as intake sent it and opened only
    to answer a read of the plan: once the participant's data key is shredded, this copy is
    unreadable too, with nothing else to erase."""

    __tablename__ = "goal_words"

    goal_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    participant_id: Mapped[str] = mapped_column(String(64), index=True)
    sealed: Mapped[dict] = mapped_column(JSON, doc="a SealedValue")


class PlanRevisionNote(PlanningBase):
    """Who revised a version and their note. The note stays here: events carry the reason code only."""

    __tablename__ = "plan_revision_notes"

    plan_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    staff_id: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text, nullable=True)


class PlanSignatureRecord(PlanningBase):
    """A signature on one version: whose (``role``: clinician or participant; ``signer_id``: the
    clinician's subject or the participant's id), how (``kind``), and whose token recorded it
    (``actor_id``/``actor_role``; for a witnessed paper signature, the clinician who attests it)."""

    __tablename__ = "plan_signatures"

    plan_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    role: Mapped[str] = mapped_column(String(32), primary_key=True)
    signer_id: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    kind: Mapped[str | None] = mapped_column(String(32), nullable=True)
    actor_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    actor_role: Mapped[str | None] = mapped_column(String(32), nullable=True)


class CarePlanState(PlanningBase):
    """What progress reviews read: one row per plan (one plan per episode)."""

    __tablename__ = "care_plan_state"

    plan_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    participant_id: Mapped[str] = mapped_column(String(64), index=True)
    episode_id: Mapped[str] = mapped_column(String(64), index=True, unique=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    program_id: Mapped[str] = mapped_column(String(64))
    started_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(32), default="active",
                                        doc="active | step_up_recommended | stepped_down")
    phq9_baseline: Mapped[int | None] = mapped_column(Integer, nullable=True)
    phq9_latest: Mapped[int | None] = mapped_column(Integer, nullable=True)
    phq9_previous: Mapped[int | None] = mapped_column(Integer, nullable=True, doc="the score before the latest")
    phq9_best: Mapped[int | None] = mapped_column(Integer, nullable=True, doc="the lowest so far, baseline included")
    last_assessed_at: Mapped[datetime] = mapped_column(UtcDateTime())
    sessions_attended: Mapped[int] = mapped_column(Integer, default=0)
    sessions_missed: Mapped[int] = mapped_column(Integer, default=0)
    minutes_attended: Mapped[float] = mapped_column(Float, default=0)
    goals_met: Mapped[list] = mapped_column(JSON, default=list)
    last_decision: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class AttendanceRecord(PlanningBase):
    """Each session counted once, whatever the number of events about it."""

    __tablename__ = "attendance"

    session_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    participant_id: Mapped[str] = mapped_column(String(64), index=True)
    plan_id: Mapped[str] = mapped_column(String(64), index=True)
    attended: Mapped[bool] = mapped_column(Boolean)
    minutes: Mapped[int] = mapped_column(Integer, default=0)


class SafetyFlag(PlanningBase):
    """Safety flags raised by intake; open until a clinician resolves them through the API."""

    __tablename__ = "safety_flags"

    flag_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    participant_id: Mapped[str] = mapped_column(String(64), index=True)
    severity: Mapped[str] = mapped_column(String(32))
    flagged_at: Mapped[datetime] = mapped_column(UtcDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    resolved_by: Mapped[str | None] = mapped_column(String(64), nullable=True)


class ProgressReviewRecord(PlanningBase):
    __tablename__ = "progress_reviews"

    review_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    plan_id: Mapped[str] = mapped_column(String(64), index=True)
    participant_id: Mapped[str] = mapped_column(String(64), index=True)
    trigger: Mapped[str] = mapped_column(String(32))
    decision: Mapped[str] = mapped_column(String(32))
    criteria_met: Mapped[list] = mapped_column(JSON, default=list)
    reason_codes: Mapped[list] = mapped_column(JSON, default=list)
    requested_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    requested_by_role: Mapped[str | None] = mapped_column(String(32), nullable=True)
    reviewed_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class ParkedInput(PlanningBase):
    """An input planning could not apply (out of order, for a plan not in force, after
    step-down): kept with its reason for a person to look at, never dropped."""

    __tablename__ = "parked_inputs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    participant_id: Mapped[str] = mapped_column(String(64), index=True)
    event_type: Mapped[str] = mapped_column(String(255))
    event_id: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(String(255))
    parked_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class IdempotentRequest(IdempotentRequestRow, PlanningBase):
    """A command made with an ``Idempotency-Key``: its fingerprint and the answer given, stored
    in the transaction of its effects (services/web/idempotency.py)."""

    __tablename__ = "idempotent_requests"
