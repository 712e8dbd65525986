"""Retried commands: a command sent with an ``Idempotency-Key`` header is carried out once. A
retry with the same key and the same request (same method, path, body and caller) gets the
stored answer and changes nothing; the same key with a different request is refused (422,
``KeyReused``). The answer is stored in the transaction of the command's effects, so either
both are kept or neither. Refusals are not stored (a refused command changed nothing: a retry
runs again).

Each service keeps its answers in a table of its own, in its own store:

    class IdempotentRequest(IdempotentRequestRow, <Service>Base):
        __tablename__ = "idempotent_requests"
"""

import hashlib
import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Integer, String
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from services.eventing.database import UtcDateTime, utcnow

from .refusals import KeyReused

KEY_MAX_LENGTH = 200


class IdempotentRequestRow:
    """The columns of a service's stored answers (a mixin: the service's declarative base
    and ``__tablename__`` make it a table)."""

    key: Mapped[str] = mapped_column(String(KEY_MAX_LENGTH), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    if TYPE_CHECKING:  # the service's declarative base, mixed in, gives the keyword constructor
        def __init__(self, **columns: Any) -> None: ...


def fingerprint(method: str, path: str, body: dict, caller: str = "") -> str:
    """The request as the key stands for it: method, path, body and the caller's subject (a key
    sent by someone else is never answered with another caller's answer)."""
    canonical = json.dumps([method, path, body, caller], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


async def stored_answer(session: AsyncSession, table: type[IdempotentRequestRow], key: str,
                        fp: str) -> tuple[int, dict] | None:
    row = await session.get(table, key)
    if row is None:
        return None
    if row.fingerprint != fp:
        raise KeyReused("Idempotency-Key was already used for a different request", header="Idempotency-Key")
    return row.status_code, row.response


def remember(session: AsyncSession, table: type[IdempotentRequestRow], key: str, fp: str, status_code: int,
             response: dict) -> None:
    session.add(table(key=key, fingerprint=fp, status_code=status_code, response=response))
