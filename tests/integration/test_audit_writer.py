"""The audit writer on a real SQLite database: a request's rows are appended in order with the
time of the access, not of the flush; the table refuses UPDATE and DELETE from the code too."""

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.exc import DatabaseError

from services.eventing.database import Database
from services.security.audit import AuditEntry, AuditRecord, entries
from services.security.audit_writer import AuditWriter
from services.security.wiring import AUDIT_METADATA


def record(n: int, participant: str = "p-1", subject: str = "u-1") -> AuditRecord:
    return AuditRecord("t-a", subject, "clinician", f"test.{n}", f"thing:{n}", participant, "adult-mh",
                       "treatment", "success", 200)


@pytest.fixture
async def db(sqlite_database) -> Database:
    return await sqlite_database("svc", AUDIT_METADATA)


async def test_rows_are_appended_in_order_with_the_access_time(db):
    writer = AuditWriter(db, interval_s=0.05)
    accessed = datetime.now(UTC)
    writer.add([record(1), record(2, participant="p-2")])
    writer.add([record(3, subject="u-2")])
    await asyncio.sleep(0.3)  # the writer task flushes on its own
    async with db.sessions() as s:
        rows = await entries(s, "t-a")
        assert [r.action for r in rows] == ["test.1", "test.2", "test.3"]
        assert all(0 <= (r.at - accessed).total_seconds() < 0.2 for r in rows)
        assert [r.action for r in await entries(s, "t-a", participant_id="p-2")] == ["test.2"]
        assert [r.action for r in await entries(s, "t-a", subject="u-2")] == ["test.3"]
        assert await entries(s, "t-b") == []
    writer.add([record(4)])
    await writer.close()  # a stop flushes what is left
    async with db.sessions() as s:
        assert len(await entries(s, "t-a")) == 4


async def test_the_table_refuses_update_and_delete(db):
    writer = AuditWriter(db)
    writer.add([record(1)])
    await writer.close()
    for statement in (update(AuditEntry).values(outcome="forbidden"), delete(AuditEntry)):
        with pytest.raises(DatabaseError, match="append-only"):
            async with db.transaction() as s:
                await s.execute(statement)
    async with db.sessions() as s:
        assert [(r.outcome, r.action) for r in (await s.scalars(select(AuditEntry))).all()] == [("success", "test.1")]
