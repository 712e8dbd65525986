"""A named lease in a service's own store: which of the service's worker processes does a
piece of background work that must run once at a time (the outbox relay, aftercare's flow-run
dispatcher). Held for ``duration`` and renewed at half-life; another worker takes over when it
lapses (a killed worker's lease simply runs out)."""

import uuid
from datetime import timedelta

from .database import Database, RelayLease, utcnow


class Lease:
    def __init__(self, db: Database, name: str, duration_s: float = 10.0):
        self.db, self.name = db, name
        self.holder = uuid.uuid4().hex
        self.duration = timedelta(seconds=duration_s)
        self._until = utcnow()

    async def hold(self) -> bool:
        """True while this worker holds the lease (taking or renewing it when needed)."""
        now = utcnow()
        if self._until - now > self.duration / 2:
            return True
        async with self.db.transaction(serialized=False) as session:
            lease = await session.get(RelayLease, self.name, with_for_update=True)
            if lease is None:
                lease = RelayLease(name=self.name, holder=self.holder, expires_at=now)
                session.add(lease)
            elif lease.holder != self.holder and lease.expires_at > now:
                self._until = now
                return False
            lease.holder, lease.expires_at = self.holder, now + self.duration
        self._until = now + self.duration
        return True

    async def release(self) -> None:
        """Hand over at once on a clean stop, instead of when the lease lapses."""
        async with self.db.transaction(serialized=False) as session:
            lease = await session.get(RelayLease, self.name, with_for_update=True)
            if lease is not None and lease.holder == self.holder:
                lease.expires_at = utcnow()
        self._until = utcnow()
