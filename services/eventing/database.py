"""A service's own database (a SQLite file, or PostgreSQL): the async engines, units of work
serialized as the handlers expect, and the tables every service has — the transactional outbox,
the record of processed events, the relay's lease.

Reads (``sessions()``) have an engine and connection pool of their own, so a read never waits for
a pool slot held by a writer queued on the store's write lock; on SQLite (WAL) they are read-only
connections that never take the write lock. Writers in one process queue on an asyncio lock
before they take a connection (SQLite has one writer at a time anyway), so at most one of this
process's connections waits on the file's lock."""

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

from sqlalchemy import DateTime, Index, Integer, LargeBinary, MetaData, String, Text, TypeDecorator, event, text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from .metrics import STORE_WRITE_WAIT
from .worst_in_window import WorstInWindow


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator):
    """A timestamp stored in UTC and read back timezone-aware, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("naive datetime: store timezone-aware UTC times")
            value = value.astimezone(UTC)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class EventingBase(DeclarativeBase):
    pass


class OutboxMessage(EventingBase):
    """An event (or dead letter) written in the same transaction as the state change
    that caused it; the relay publishes it and stamps ``published_at``."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_unpublished", "published_at", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    topic: Mapped[str] = mapped_column(String(255))
    key: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    value: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    headers_json: Mapped[str] = mapped_column(Text, default="[]")
    event_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    event_type: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)

    @staticmethod
    def encode_headers(headers: list[tuple[str, bytes]] | tuple[tuple[str, bytes], ...]) -> str:
        # latin-1 maps every byte to one code point: a lossless text form of the bytes.
        return json.dumps([[k, v.decode("latin-1")] for k, v in headers])

    def headers(self) -> list[tuple[str, bytes]]:
        return [(k, v.encode("latin-1")) for k, v in json.loads(self.headers_json)]


class ProcessedEvent(EventingBase):
    """The idempotent-consumer record: one row per handled CloudEvent ``(source, id)``,
    written in the transaction of the handler's effects."""

    __tablename__ = "processed_events"

    source: Mapped[str] = mapped_column(String(256), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(255))
    processed_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class RelayLease(EventingBase):
    """Which worker's relay publishes this service's outbox: one at a time keeps the
    outbox's order and sends nothing twice; another worker takes over when the lease lapses."""

    __tablename__ = "relay_lease"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Database:
    """Units of work are serialized, so each handler can read, decide and write as if alone:
    on SQLite one at a time (BEGIN IMMEDIATE); on PostgreSQL (READ COMMITTED) one at a time
    per participant for a unit of work that names its participant, one at a time in the whole
    store for any other, with transaction-scoped advisory locks (see _serialize_on_postgresql)."""

    def __init__(self, url: str, *metadatas: MetaData, per_participant: bool = True):
        self.url = url
        self.metadatas = (EventingBase.metadata, *metadatas)
        # False where handlers write rows shared by participants (operations' counts)
        self.per_participant = per_participant
        kwargs: dict = {}
        if url.startswith("sqlite"):
            Path(url.split("///", 1)[1]).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"timeout": 30}
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        self.read_engine: AsyncEngine = create_async_engine(url, **kwargs)
        self.is_sqlite = url.startswith("sqlite")
        self.is_postgresql = url.startswith("postgresql")
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_connect)
            event.listen(self.engine.sync_engine, "begin", _sqlite_begin)
            event.listen(self.read_engine.sync_engine, "connect", _sqlite_connect_read_only)
            event.listen(self.read_engine.sync_engine, "begin", _sqlite_begin)
        self._writes = async_sessionmaker(self.engine, expire_on_commit=False)
        self.sessions = async_sessionmaker(self.read_engine, expire_on_commit=False)
        """Sessions for reads: their own pool, never queued behind a writer (read-only on SQLite)."""
        self._write_lock = asyncio.Lock()  # created unbound; binds to the loop that first awaits it
        self.write_lock_waits = WorstInWindow()  # seconds a unit of work waited for its turn to write

    async def create_all(self) -> None:
        async with self.engine.begin() as conn:
            if self.is_postgresql:  # two workers starting together: one creates, the other finds
                await conn.execute(text("select pg_advisory_xact_lock(:space, 0)"), {"space": _SCHEMA})
            for md in self.metadatas:
                await conn.run_sync(md.create_all)

    @asynccontextmanager
    async def transaction(self, participant: str | None = None, *,
                          serialized: bool = True) -> AsyncIterator[AsyncSession]:
        """One unit of work: state, outbox rows and processed-event record commit together.
        ``participant``: the unit touches only that participant's rows (or takes locks of its
        own for shared ones). ``serialized=False``: bookkeeping with row locks of its own (the
        relay's lease and stamps), not serialized with the units of work."""
        try:
            if self.is_sqlite:
                # one writer at a time in this process, queued without holding a connection; then
                # the file's write lock at BEGIN (IMMEDIATE), so two processes sharing one file
                # queue on busy_timeout instead of failing a read-to-write upgrade with "locked"
                asked = time.perf_counter()
                async with self._write_lock:
                    waited = time.perf_counter() - asked
                    self.write_lock_waits.record(waited)
                    STORE_WRITE_WAIT.observe(waited)
                    async with self._writes() as session, session.begin():
                        await session.connection(execution_options={"sqlite_immediate": True})
                        yield session
                return
            async with self._writes() as session, session.begin():
                if self.is_postgresql and serialized:
                    await _serialize_on_postgresql(session, participant if self.per_participant else None)
                yield session
        except DBAPIError as exc:
            if self.is_postgresql and _retryable_on_postgresql(exc):
                # as SQLite's "database is locked": an OperationalError, which callers retry
                # DBAPIError.orig is Optional where OperationalError's parameter is not: passed on as it came
                raise OperationalError(exc.statement, exc.params, cast(BaseException, exc.orig)) from exc
            raise

    async def dispose(self) -> None:
        await self.engine.dispose()
        await self.read_engine.dispose()


def _sqlite_connect_read_only(dbapi_conn, record) -> None:
    _sqlite_connect(dbapi_conn, record)
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA query_only=1")  # a write through a read session fails loudly
    cur.close()


def _sqlite_connect(dbapi_conn, _record) -> None:
    # let SQLAlchemy emit BEGIN itself (see _sqlite_begin), as the SQLAlchemy docs advise for (aio)sqlite
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _sqlite_begin(conn) -> None:
    immediate = conn.get_execution_options().get("sqlite_immediate", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


# PostgreSQL advisory lock spaces (the two-key form): the store, participants, the schema
_STORE, _PARTICIPANT, _SCHEMA = 1, 2, 3


async def _serialize_on_postgresql(session: AsyncSession, participant: str | None) -> None:
    """First statement of a unit of work, held to its commit or rollback (a killed worker's
    connection closes and releases them). A participant's unit shares the store lock and takes
    its participant's; any other unit takes the store lock alone, waiting for the units in
    flight. Locks come in that one order, so units never deadlock on them. Under READ COMMITTED
    every later statement sees what the units before it committed."""
    if participant is None:
        await session.execute(text("select pg_advisory_xact_lock(:space, 0)"), {"space": _STORE})
        return
    await session.execute(text("select pg_advisory_xact_lock_shared(:space, 0)"), {"space": _STORE})
    await session.execute(text("select pg_advisory_xact_lock(:space, hashtext(:participant))"),
                          {"space": _PARTICIPANT, "participant": participant})


# serialization failure, deadlock, lock not available, connection failure, server shutting down
_RETRYABLE_SQLSTATES = {"40001", "40P01", "55P03", "08000", "08003", "08006", "57P01"}


def _retryable_on_postgresql(exc: DBAPIError) -> bool:
    return exc.connection_invalidated or getattr(exc.orig, "sqlstate", None) in _RETRYABLE_SQLSTATES
