"""What operations does with what it reads: every event is projected into the read model
(in the idempotent consumer's transaction); every dead letter is recorded by its position."""

import asyncio

from services.contracts.base import Event
from services.contracts.catalogue import EVENT_TYPES
from services.eventing.consumer import HandlerContext, IncomingMessage
from services.eventing.database import Database
from services.eventing.dead_letter_reasons import reason_code
from services.eventing.logging import get_logger
from services.eventing.metrics import EVENTS_CONSUMED

from .domain.projection import DeadLetter, Meta, project, project_dead_letter
from .store import apply

log = get_logger(__name__)


async def project_event(ctx: HandlerContext, event: Event) -> None:
    ce = ctx.cause
    await apply(ctx.session, project(event, Meta(ce.type, ce.tenantid, ce.programid, ce.time)))


HANDLERS = {model: project_event for model in EVENT_TYPES.values()}


def dead_letter_of(msg: IncomingMessage) -> DeadLetter:
    return DeadLetter(msg.topic, msg.partition, msg.offset,
                      {k: v.decode("utf-8", "replace") for k, v in msg.headers})


async def record_dead_letter(db: Database, msg: IncomingMessage, *, attempts: int = 10) -> bool:
    """Idempotent (keyed by topic, partition, offset). Never raises: a dead letter that cannot
    be recorded is logged and skipped, never dead-lettered again (that would loop)."""
    delay = 0.1
    for attempt in range(1, attempts + 1):
        try:
            async with db.transaction() as session:
                await apply(session, project_dead_letter(dead_letter_of(msg), reason_code))
            EVENTS_CONSUMED.labels("operations", "dead_letter", "handled").inc()
            return True
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001
            log.warning("dead_letter.record_failed", topic=msg.topic, offset=msg.offset,
                        error=type(exc).__name__, attempt=attempt)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5)
    EVENTS_CONSUMED.labels("operations", "dead_letter", "failed").inc()
    return False


async def on_dead_letter(rt, msg: IncomingMessage) -> None:
    await record_dead_letter(rt.db, msg)
