"""Appends audit records without making a request wait for the database's write lock: the
request hands its rows over and answers; one writer task appends them in batches, each
batch in one transaction. A reader of the trail (``GET /audit``) flushes first, so it sees
every access answered before it; a stop flushes what is left. Rows not yet flushed when a
process is killed are lost (at most one flush interval's)."""

import asyncio

from services.eventing.database import Database
from services.eventing.logging import get_logger

from .audit import AuditRecord, append

log = get_logger(__name__)


class AuditWriter:
    def __init__(self, db: Database, interval_s: float = 0.2):
        self.db, self.interval_s = db, interval_s
        self._pending: list[AuditRecord] = []
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None

    def add(self, rows: list[AuditRecord]) -> None:
        self._pending.extend(rows)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="audit-writer")
        self._wake.set()

    async def flush(self) -> None:
        async with self._lock:
            rows, self._pending = self._pending, []
            if not rows:
                return
            try:
                async with self.db.transaction() as session:
                    for row in rows:
                        append(session, row)
            except BaseException:
                self._pending[:0] = rows  # kept, in order, for the next flush
                raise

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self.flush()
            except Exception as exc:  # noqa: BLE001 - retried on the next wake; the rows are kept
                log.warning("audit.flush_failed", error=type(exc).__name__, pending=len(self._pending))
                self._wake.set()
            await asyncio.sleep(self.interval_s)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.flush()
