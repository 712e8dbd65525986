"""Retried requests: a command sent with an ``Idempotency-Key`` header is answered once;
a retry with the same key and the same request gets the stored answer and creates
nothing; the same key with a different request is refused."""

import hashlib
import json

from sqlalchemy.ext.asyncio import AsyncSession

from .refusals import Refused
from .tables import IdempotentRequest


class KeyReused(Refused):
    status_code = 422


def fingerprint(method: str, path: str, body: dict) -> str:
    canonical = json.dumps([method, path, body], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


async def stored_answer(session: AsyncSession, key: str, fp: str) -> tuple[int, dict] | None:
    row = await session.get(IdempotentRequest, key)
    if row is None:
        return None
    if row.fingerprint != fp:
        raise KeyReused("Idempotency-Key was already used for a different request", header="Idempotency-Key")
    return row.status_code, row.response


def remember(session: AsyncSession, key: str, fp: str, status_code: int, response: dict) -> None:
    session.add(IdempotentRequest(key=key, fingerprint=fp, status_code=status_code, response=response))
