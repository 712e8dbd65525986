"""One command's transaction: the session its state changes go through and the outbox its events
go to; both commit together (transactional outbox)."""

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from .outbox import Outbox


@dataclass
class UnitOfWork:
    session: AsyncSession
    outbox: Outbox
