"""Runs one service as one process: its FastAPI API (uvicorn), its faust agent on the
topics it subscribes to, and its outbox relay, all on one asyncio loop."""

import asyncio
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Protocol

import faust
import uvicorn
from fastapi import APIRouter, FastAPI, Response
from faust.contrib.asgi import faust_app_running
from sqlalchemy import func, select

from services.contracts.base import Event
from services.contracts.topics import (
    DEAD_LETTER_SUBSCRIPTIONS,
    SUBSCRIPTIONS,
    consumed_topics,
    dead_letter_topic,
    events_topic,
)
from services.eventing.batches import arrived_batches
from services.eventing.consumer import EventConsumer, Handler, IncomingMessage
from services.eventing.consumer_lag import LagProbe, group_id
from services.eventing.database import Database, OutboxMessage
from services.eventing.http_tracing import TraceRequests
from services.eventing.kafka_clients import KafkaUnreachable, ensure_reachable, idempotent_producer
from services.eventing.kafka_connection import faust_credentials
from services.eventing.logging import configure_logging, get_logger
from services.eventing.loop_lag import LoopLagMonitor
from services.eventing.metrics import CONSUMER_LAG, OUTBOX_BACKLOG, exposition
from services.eventing.outbox import Outbox
from services.eventing.relay import OutboxRelay
from services.eventing.settings import (
    ContinuumSettings,
    KafkaSettings,
    ServiceSettings,
    StartRefused,
    refuse_plaintext_kafka,
    service_settings,
)
from services.eventing.topic_admin import create_topics
from services.eventing.unit_of_work import UnitOfWork
from services.security.audit_api import router as audit_router
from services.security.wiring import AUDIT_METADATA, secure, token_verifier
from services.web.error_responses import document_common_errors
from services.web.request_size import LimitRequestSize

log = get_logger(__name__)

RawHandler = Callable[["ServiceRuntime", IncomingMessage], Awaitable[None]]
"""Handles a message of a raw (non-CloudEvents) subscription, e.g. a dead letter. Must not raise."""


class BackgroundWorker(Protocol):
    """Work a service does beside its consumer and routes, from committed rows (like the relay):
    ``run`` loops until cancelled and never raises; ``stop`` hands over cleanly."""

    async def run(self) -> None: ...

    async def stop(self) -> None: ...


@dataclass
class ServiceRuntime:
    """Everything a service's routes and agents share while the process runs."""

    service: str
    db: Database
    settings: ContinuumSettings
    kafka: KafkaSettings
    http: ServiceSettings
    handlers: dict[type[Event], Handler]
    consumer: EventConsumer = field(init=False)
    relay: OutboxRelay | None = None
    extras: dict = field(default_factory=dict)
    on_dead_letter: RawHandler | None = None
    lag_probe: LagProbe = field(init=False)
    loop_lag: LoopLagMonitor = field(default_factory=LoopLagMonitor)
    _lag_cache: tuple[float, dict[str, int]] = (0.0, {})

    def __post_init__(self) -> None:
        self.consumer = EventConsumer(
            self.service, self.db, self.handlers, topic_prefix=self.settings.topic_prefix,
            on_commit=self.wake_relay,
        )
        self.lag_probe = LagProbe(self.kafka)

    def wake_relay(self) -> None:
        if self.relay:
            self.relay.wake()

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[UnitOfWork]:
        """A transaction for an API command: state and outbox commit together."""
        async with self.db.transaction() as session:
            uow = UnitOfWork(session, Outbox(session, self.service, self.settings.topic_prefix))
            yield uow
        if uow.outbox.rows:  # a read-only or event-less command leaves the relay asleep
            self.wake_relay()

    async def outbox_backlog(self) -> int:
        async with self.db.sessions() as s:
            return await s.scalar(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.published_at.is_(None))
            ) or 0

    async def consumer_lag(self, max_age_s: float = 2.0) -> dict[str, int]:
        """This service's group lag per topic it reads (cached briefly; empty when Kafka
        does not answer: a scrape must not fail because the broker is slow)."""
        at, cached = self._lag_cache
        if time.monotonic() - at < max_age_s:
            return cached
        group = group_id(self.service, self.settings.topic_prefix)
        try:
            lag = await asyncio.wait_for(asyncio.to_thread(
                self.lag_probe.lag, {group: consumed_topics(self.service, self.settings.topic_prefix)}), 10)
        except Exception as exc:  # noqa: BLE001
            log.warning("consumer_lag.unavailable", error=type(exc).__name__)
            return cached
        if group not in lag:
            return cached
        self._lag_cache = (time.monotonic(), lag[group])
        return lag[group]


CONSUMER_BATCH_MAX = 100
"""Messages handed to the consumer at most at once (it commits them in as few transactions
as its time budget allows)."""


def _incoming(m) -> IncomingMessage:
    return IncomingMessage(m.topic, m.partition, m.offset, m.key, m.value, tuple(m.headers or ()))


def build_faust_app(rt: ServiceRuntime) -> faust.App:
    prefix = rt.settings.topic_prefix
    app = faust.App(
        group_id(rt.service, prefix),
        broker=[f"kafka://{hp}" for hp in rt.kafka.bootstrap_servers.split(",")],
        broker_credentials=faust_credentials(rt.kafka),
        web_enabled=False,
        topic_disable_leader=True,
        topic_allow_declare=False,
        table_standby_replicas=0,
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=10.0,
        broker_heartbeat_interval=1.0,
        broker_rebalance_timeout=20.0,
        broker_commit_interval=1.0,
        stream_wait_empty=False,
        producer_acks=-1,  # faust's own producer sends nothing here (no tables, no sinks); were it used: acks=all
    )
    topics = [events_topic(p, prefix) for p in SUBSCRIPTIONS[rt.service]]
    channel = app.topic(*topics, key_type=bytes, value_type=bytes,
                        key_serializer="raw", value_serializer="raw")

    @app.agent(channel, name=f"{rt.service}-events")
    async def consume(stream):  # thin: all the work is in EventConsumer.handle_batch, which never raises
        manual = stream.noack()  # a message is acked (its offset committable) only once handled
        async for events in arrived_batches(manual.events(), CONSUMER_BATCH_MAX):
            await rt.consumer.handle_batch([_incoming(ev.message) for ev in events])
            for ev in events:
                await manual.ack(ev)

    dead_letter_topics = [dead_letter_topic(c, prefix) for c in DEAD_LETTER_SUBSCRIPTIONS.get(rt.service, ())]
    if dead_letter_topics:
        if rt.on_dead_letter is None:
            raise ValueError(f"{rt.service} reads dead-letter topics: pass on_dead_letter")
        on_dead_letter = rt.on_dead_letter
        raw = app.topic(*dead_letter_topics, key_type=bytes, value_type=bytes,
                        key_serializer="raw", value_serializer="raw")

        @app.agent(raw, name=f"{rt.service}-dead-letters")
        async def consume_dead_letters(stream):  # the handler never raises either
            async for ev in stream.events():
                await on_dead_letter(rt, _incoming(ev.message))

    return app


def build_service(
    service: str,
    *,
    routers: list[APIRouter],
    handlers: dict[type[Event], Handler],
    metadatas: tuple,
    title: str,
    on_start: Callable[[ServiceRuntime], object] | None = None,
    on_dead_letter: RawHandler | None = None,
    per_participant: bool = True,
    workers: Callable[[ServiceRuntime], list[BackgroundWorker]] = lambda rt: [],
) -> FastAPI:
    """``per_participant=False`` where the handlers write rows that participants share
    (see Database: their units of work are then serialized in the whole store).
    ``workers``: background work started with the service and stopped before the relay drains."""
    settings = ContinuumSettings()
    kafka = KafkaSettings()
    http = service_settings(service, settings)
    configure_logging(service, settings.log_level)
    verifier = token_verifier(settings)  # refuses to start without an issuer; fetches nothing yet
    refuse_plaintext_kafka(settings, kafka)  # outside development, unless explicitly allowed
    db = Database(http.database_url, *metadatas, AUDIT_METADATA, per_participant=per_participant)
    rt = ServiceRuntime(service, db, settings, kafka, http, handlers, on_dead_letter=on_dead_letter)
    faust_app = build_faust_app(rt)

    @asynccontextmanager
    async def lifespan(api: FastAPI):
        await ensure_reachable(kafka)
        await db.create_all()
        if kafka.create_topics:
            await asyncio.to_thread(create_topics, kafka, settings)
        def new_producer():
            return idempotent_producer(kafka, f"{settings.topic_prefix}continuum-{service}-relay")

        producer = new_producer()
        await producer.start()
        rt.relay = OutboxRelay(db, producer, service=service, renew=new_producer)
        relay_task = asyncio.create_task(rt.relay.run(), name="outbox-relay")
        lag_task = asyncio.create_task(rt.loop_lag.run(), name="loop-lag")
        background = workers(rt)
        worker_tasks = [asyncio.create_task(w.run(), name=type(w).__name__) for w in background]
        if on_start:
            result = on_start(rt)
            if asyncio.iscoroutine(result):
                await result
        try:
            async with faust_app_running(faust_app):
                log.info("service.started", port=http.http_port, topics=consumed_topics(service, ""))
                yield
        finally:
            for w in background:
                await w.stop()
            for t in (*worker_tasks, lag_task):
                t.cancel()
            await asyncio.gather(*worker_tasks, lag_task, return_exceptions=True)
            await api.state.audit_writer.close()
            await rt.relay.drain()
            relay_task.cancel()
            await asyncio.gather(relay_task, return_exceptions=True)
            await rt.relay.producer.stop()
            await asyncio.to_thread(rt.lag_probe.close)
            await db.dispose()

    api = FastAPI(title=title, version="0.1.0", lifespan=lifespan)
    api.state.runtime = rt
    api.add_middleware(TraceRequests)
    # added last, so outermost: a body over the limit is refused before anything else runs
    # (tracing, authentication, routing); keep it the last middleware added
    api.add_middleware(LimitRequestSize, max_bytes=settings.max_request_bytes)

    platform = APIRouter(tags=["operations"])

    @platform.get("/health")
    async def health() -> dict:
        return {
            "service": service,
            "status": "ok",
            "consumed": dict(rt.consumer.counts),
            "published": rt.relay.published if rt.relay else 0,
            "outbox_backlog": await rt.outbox_backlog(),
            "event_loop_lag": rt.loop_lag.report(),
            "store_write_wait_worst_last_minute_ms": round(db.write_lock_waits.worst * 1000, 1),
        }

    @platform.get("/metrics", response_class=Response, responses={200: {
        "description": "Prometheus text exposition", "content": {"text/plain": {"schema": {"type": "string"}}}}})
    async def metrics() -> Response:
        """Prometheus exposition: events consumed/failed/dead-lettered, handler latency,
        events published, outbox backlog, consumer lag."""
        OUTBOX_BACKLOG.labels(service).set(await rt.outbox_backlog())
        for topic, lag in (await rt.consumer_lag()).items():
            CONSUMER_LAG.labels(service, topic.removeprefix(settings.topic_prefix)).set(lag)
        body, content_type = exposition()
        return Response(body, media_type=content_type)

    for r in (platform, *routers):
        document_common_errors(r)  # before include: the included routes take the router's responses
        api.include_router(r)
    document_common_errors(audit_router)
    secure(api, verifier, db)
    return api


def serve(create_app: Callable[[], FastAPI]) -> None:
    """The process entrypoint: fail fast and clearly when the configuration is refused (no token
    issuer, plaintext Kafka outside development, the privacy master key) or Kafka is not there,
    then serve."""
    try:
        api = create_app()
    except StartRefused as exc:
        print(f"refusing to start: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    rt: ServiceRuntime = api.state.runtime
    try:
        asyncio.run(ensure_reachable(rt.kafka))
    except KafkaUnreachable as exc:
        print(f"{rt.service}: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    config = uvicorn.Config(api, host=rt.http.http_host, port=rt.http.http_port, lifespan="on",
                            log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    ok = asyncio.run(_serve(server))
    raise SystemExit(0 if ok else 1)


async def _serve(server: uvicorn.Server) -> bool:
    await server.serve()
    return server.started
