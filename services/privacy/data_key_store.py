"""The default key management: per-participant data keys, wrapped under the master key, in
one SQLite file (``data/keys/data-keys.db``) that every service of a deployment opens.

Safe for several processes: each call opens its own connection; creating a key takes
SQLite's write lock first (``BEGIN IMMEDIATE``) and a unique index allows one live key per
participant, so two services sealing for the same new participant at once get the same key.
Shredding overwrites the wrapped key in place (``secure_delete``) and keeps a tombstone (key
id and time), so an open after it fails with ``KeyShredded`` rather than "unknown".
Nothing is cached in memory: a key shredded by one process is gone for every other at once."""

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidTag

from .errors import KeyShredded, UnknownDataKey
from .ports import DataKey, KeyEncryptionKey, ShreddedKey

SCHEMA = """
CREATE TABLE IF NOT EXISTS data_keys (
    key_id TEXT PRIMARY KEY,
    participant_id TEXT NOT NULL,
    kek_id TEXT NOT NULL,
    wrapped BLOB,
    created_at TEXT NOT NULL,
    shredded_at TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS one_live_key_per_participant
    ON data_keys (participant_id) WHERE shredded_at IS NULL;
"""


def _wrapping_context(key_id: str, participant_id: str) -> bytes:
    return b"continuum.data-key.v1\x00" + key_id.encode() + b"\x00" + participant_id.encode()


class SqliteDataKeys:
    def __init__(self, path: Path, master: KeyEncryptionKey, *, busy_timeout_s: float = 30.0):
        self.path, self.master, self.busy_timeout_s = path, master, busy_timeout_s
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with self._connection() as db:
            db.executescript(SCHEMA)

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=self.busy_timeout_s, isolation_level=None)
        try:
            db.execute("PRAGMA secure_delete = ON")
            yield db
        finally:
            db.close()

    def data_key_for(self, participant_id: str) -> DataKey:
        with self._connection() as db:
            row = self._live(db, participant_id)
            if row is None:
                db.execute("BEGIN IMMEDIATE")
                try:
                    row = self._live(db, participant_id) or self._create(db, participant_id)
                    db.execute("COMMIT")
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
        return self._unwrapped(*row, participant_id)

    def data_key(self, key_id: str, participant_id: str) -> DataKey:
        with self._connection() as db:
            row = db.execute("SELECT kek_id, wrapped, shredded_at FROM data_keys "
                             "WHERE key_id = ? AND participant_id = ?", (key_id, participant_id)).fetchone()
        if row is None:
            raise UnknownDataKey(f"no data key {key_id} for participant {participant_id}")
        kek_id, wrapped, shredded_at = row
        if shredded_at is not None:
            raise KeyShredded(key_id, shredded_at)
        return self._unwrapped(key_id, kek_id, wrapped, participant_id)

    def shred(self, participant_id: str) -> list[ShreddedKey]:
        now = datetime.now(UTC).isoformat()
        with self._connection() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute("UPDATE data_keys SET wrapped = NULL, shredded_at = ? "
                           "WHERE participant_id = ? AND shredded_at IS NULL", (now, participant_id))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            rows = db.execute("SELECT key_id, shredded_at FROM data_keys WHERE participant_id = ? "
                              "AND shredded_at IS NOT NULL ORDER BY shredded_at, key_id", (participant_id,)).fetchall()
        return [ShreddedKey(k, at) for k, at in rows]

    @staticmethod
    def _live(db: sqlite3.Connection, participant_id: str) -> tuple[str, str, bytes] | None:
        return db.execute("SELECT key_id, kek_id, wrapped FROM data_keys "
                          "WHERE participant_id = ? AND shredded_at IS NULL", (participant_id,)).fetchone()

    def _create(self, db: sqlite3.Connection, participant_id: str) -> tuple[str, str, bytes]:
        key_id = f"dk-{os.urandom(8).hex()}"
        wrapped = self.master.wrap(os.urandom(32), _wrapping_context(key_id, participant_id))
        db.execute("INSERT INTO data_keys (key_id, participant_id, kek_id, wrapped, created_at) "
                   "VALUES (?, ?, ?, ?, ?)",
                   (key_id, participant_id, self.master.key_id, wrapped, datetime.now(UTC).isoformat()))
        return key_id, self.master.key_id, wrapped

    def _unwrapped(self, key_id: str, kek_id: str, wrapped: bytes, participant_id: str) -> DataKey:
        if kek_id != self.master.key_id:
            raise UnknownDataKey(f"data key {key_id} is wrapped under master key {kek_id}, "
                                 f"not this deployment's {self.master.key_id}")
        try:
            material = self.master.unwrap(wrapped, _wrapping_context(key_id, participant_id))
        except InvalidTag:
            raise UnknownDataKey(f"data key {key_id} does not unwrap for participant {participant_id}") from None
        return DataKey(key_id, participant_id, material)
