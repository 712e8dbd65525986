"""The outbox relay: publishes unpublished outbox rows in id order with the idempotent
producer, then stamps them published. A crash between send and stamp republishes
the batch; consumers are idempotent on the CloudEvent id, so that changes nothing."""

import asyncio
from collections.abc import Callable

from aiokafka import AIOKafkaProducer
from aiokafka.errors import InvalidProducerEpoch, OutOfOrderSequenceNumber, ProducerFenced, UnknownProducerId
from sqlalchemy import select, update

from .database import Database, OutboxMessage, utcnow
from .lease import Lease
from .logging import get_logger
from .metrics import EVENTS_PUBLISHED

log = get_logger(__name__)

# The idempotent producer's state no longer matches the broker's (seen after a broker restart:
# OutOfOrderSequenceNumber on every send, forever): only a new producer (a new producer id) sends again.
# The rows stay unpublished until then, and their consumers are idempotent, so a resend changes nothing.
FATAL_TO_THE_PRODUCER = (OutOfOrderSequenceNumber, UnknownProducerId, InvalidProducerEpoch, ProducerFenced)


class OutboxRelay:
    def __init__(self, db: Database, producer: AIOKafkaProducer, *, batch_size: int = 500,
                 idle_poll_s: float = 0.2, lease_s: float = 10.0, service: str = "",
                 send_deadline_s: float = 120.0, renew: Callable[[], AIOKafkaProducer] | None = None):
        """``renew``: makes a new (not yet started) producer, for when the current one cannot send again."""
        self.db = db
        self.service = service
        self.lease = Lease(db, "outbox", lease_s)
        self.producer = producer
        self.renew = renew
        self.batch_size = batch_size
        self.idle_poll_s = idle_poll_s
        self.send_deadline_s = send_deadline_s
        self._wake = asyncio.Event()
        self._stopping = False
        self.published = 0

    def wake(self) -> None:
        """Called after a commit that wrote outbox rows, so they go out at once."""
        self._wake.set()

    async def publish_pending(self) -> int:
        if not await self.lease.hold():
            return 0
        async with self.db.sessions() as session:
            rows = (
                await session.scalars(
                    select(OutboxMessage)
                    .where(OutboxMessage.published_at.is_(None))
                    .order_by(OutboxMessage.id)
                    .limit(self.batch_size)
                )
            ).all()
        if not rows:
            return 0
        async with asyncio.timeout(self.send_deadline_s):  # a broker that never answers: retried later
            futures = [
                await self.producer.send(r.topic, value=r.value, key=r.key, headers=r.headers()) for r in rows
            ]
            await asyncio.gather(*futures)
        async with self.db.transaction(serialized=False) as session:
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_([r.id for r in rows]))
                .values(published_at=utcnow())
            )
        self.published += len(rows)
        EVENTS_PUBLISHED.labels(self.service).inc(len(rows))
        return len(rows)

    async def run(self) -> None:
        backoff, renew = 0.5, False
        while not self._stopping:
            try:
                if renew:
                    await self.renew_producer()
                    renew = False
                sent = await self.publish_pending()
                backoff = 0.5
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - keep relaying; rows stay unpublished
                renew = renew or isinstance(exc, FATAL_TO_THE_PRODUCER)
                log.warning("relay.publish_failed", error=type(exc).__name__, detail=str(exc)[:200],
                            retry_in_s=backoff, renew_producer=renew)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10)
                continue
            if sent < self.batch_size:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=self.idle_poll_s)
                except TimeoutError:
                    pass

    async def renew_producer(self) -> None:
        """A new producer (a new producer id) in place of one whose state the broker refuses."""
        if self.renew is None:
            return
        old, self.producer = self.producer, self.renew()
        try:
            await old.stop()
        except Exception as exc:  # noqa: BLE001 - it is being replaced because it is broken
            log.warning("relay.old_producer_stop_failed", error=type(exc).__name__)
        await self.producer.start()
        log.info("relay.producer_renewed")

    async def drain(self, timeout_s: float = 10) -> None:
        """Publish what is pending, then stop (on shutdown)."""
        self._stopping = True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        try:
            while loop.time() < deadline:
                if await self.publish_pending() == 0:
                    break
            await self.lease.release()
        except Exception:  # noqa: BLE001 - stopping anyway; the rows stay for the next relay
            return
