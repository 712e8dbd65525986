"""The audit trail: one append-only row per access to participant data — who (subject and the
role that allowed it), what (action, resource, participant), when, why (purpose of use) and the
outcome. Ids and codes only, never clinical narrative. The code only ever inserts; the database
refuses UPDATE and DELETE (triggers on SQLite and PostgreSQL)."""

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import DDL, Integer, String, event, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.eventing.database import UtcDateTime, utcnow


class AuditBase(DeclarativeBase):
    pass


class AuditEntry(AuditBase):
    __tablename__ = "audit_trail"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)
    tenant_id: Mapped[str] = mapped_column(String(64), index=True, doc="the caller's tenant")
    subject: Mapped[str] = mapped_column(String(128), index=True)
    role: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(64), doc="e.g. assessment.read, attendance.record")
    resource: Mapped[str] = mapped_column(String(160), doc="kind:id, e.g. assessment:asm_...")
    participant_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    program_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    purpose: Mapped[str] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(
        String(16), doc="success | forbidden | not_found | out_of_scope | refused | error")
    status_code: Mapped[int] = mapped_column(Integer)


_REFUSAL = "audit_trail is append-only"
for _statement in (
    f"CREATE TRIGGER audit_trail_no_update BEFORE UPDATE ON audit_trail BEGIN SELECT RAISE(ABORT, '{_REFUSAL}'); END",
    f"CREATE TRIGGER audit_trail_no_delete BEFORE DELETE ON audit_trail BEGIN SELECT RAISE(ABORT, '{_REFUSAL}'); END",
):
    event.listen(AuditEntry.__table__, "after_create", DDL(_statement).execute_if(dialect="sqlite"))
for _statement in (
    "CREATE OR REPLACE FUNCTION audit_trail_append_only() RETURNS trigger AS $$ "
    f"BEGIN RAISE EXCEPTION '{_REFUSAL}'; END $$ LANGUAGE plpgsql",
    "CREATE TRIGGER audit_trail_no_change BEFORE UPDATE OR DELETE ON audit_trail "
    "FOR EACH ROW EXECUTE FUNCTION audit_trail_append_only()",
    "CREATE TRIGGER audit_trail_no_truncate BEFORE TRUNCATE ON audit_trail "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_trail_append_only()",
):
    event.listen(AuditEntry.__table__, "after_create", DDL(_statement).execute_if(dialect="postgresql"))


@dataclass(frozen=True)
class AuditRecord:
    tenant_id: str
    subject: str
    role: str
    action: str
    resource: str
    participant_id: str | None
    program_id: str | None
    purpose: str
    outcome: str
    status_code: int
    at: datetime = field(default_factory=utcnow)


def append(session: AsyncSession, record: AuditRecord) -> None:
    session.add(AuditEntry(**record.__dict__))


async def entries(session: AsyncSession, tenant_id: str, *, participant_id: str | None = None,
                  subject: str | None = None, limit: int = 500) -> list[AuditEntry]:
    """A tenant's rows, newest last, for one participant and/or one user."""
    q = select(AuditEntry).where(AuditEntry.tenant_id == tenant_id)
    if participant_id is not None:
        q = q.where(AuditEntry.participant_id == participant_id)
    if subject is not None:
        q = q.where(AuditEntry.subject == subject)
    rows = (await session.scalars(q.order_by(AuditEntry.id.desc()).limit(limit))).all()
    return list(reversed(rows))


def view(e: AuditEntry) -> dict:
    return {"at": e.at.isoformat(), "subject": e.subject, "role": e.role, "action": e.action,
            "resource": e.resource, "participant_id": e.participant_id, "program_id": e.program_id,
            "purpose": e.purpose, "outcome": e.outcome, "status_code": e.status_code}
