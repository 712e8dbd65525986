"""What operations does with what it reads: every event is projected into the read model
(in the idempotent consumer's transaction); every dead letter is recorded by its position."""

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    RetryError,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from services.contracts.base import Event
from services.contracts.catalogue import EVENT_TYPES
from services.eventing.consumer import Handler, HandlerContext, IncomingMessage
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


HANDLERS: dict[type[Event], Handler] = dict.fromkeys(EVENT_TYPES.values(), project_event)


def dead_letter_of(msg: IncomingMessage) -> DeadLetter:
    return DeadLetter(msg.topic, msg.partition, msg.offset,
                      {k: v.decode("utf-8", "replace") for k, v in msg.headers})


async def record_dead_letter(db: Database, msg: IncomingMessage, *, attempts: int = 10,
                             backoff_s: tuple[float, float] = (0.1, 5.0)) -> bool:
    """Idempotent (keyed by topic, partition, offset). Never raises (but for cancellation): a
    dead letter that cannot be recorded in ``attempts`` tries (waits growing from ``backoff_s[0]``
    to ``backoff_s[1]``) is logged and skipped, never dead-lettered again (that would loop)."""

    def failed(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        log.warning("dead_letter.record_failed", topic=msg.topic, offset=msg.offset,
                    error=type(exc).__name__, attempt=state.attempt_number)

    try:
        async for attempt in AsyncRetrying(
            retry=retry_if_exception_type(Exception),  # never CancelledError, a BaseException
            stop=stop_after_attempt(attempts),
            wait=wait_exponential(multiplier=backoff_s[0], max=backoff_s[1]),
            after=failed,
        ):
            with attempt:
                async with db.transaction() as session:
                    await apply(session, project_dead_letter(dead_letter_of(msg), reason_code))
    except RetryError:
        EVENTS_CONSUMED.labels("operations", "dead_letter", "failed").inc()
        return False
    EVENTS_CONSUMED.labels("operations", "dead_letter", "handled").inc()
    return True


async def on_dead_letter(rt, msg: IncomingMessage) -> None:
    await record_dead_letter(rt.db, msg)
