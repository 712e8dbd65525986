"""A service's store on a real PostgreSQL server (Debian's package, started by
deploy/postgres_runner.py): two workers sharing one database handle each event once, lose no
update to a participant's state, let one relay hold the lease, and what PostgreSQL reports as
a conflict to retry reaches the consumer as a transient error."""

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError

from deploy.postgres_runner import PostgresServer
from deploy.processes import port_open
from services.contracts.codes import Modality
from services.contracts.envelope import EventContext, to_record, wrap
from services.contracts.events_intake import AssessmentCompleted
from services.contracts.events_scheduling import SessionAttended
from services.eventing.consumer import EventConsumer, Outcome
from services.eventing.database import Database, OutboxMessage, ProcessedEvent
from services.eventing.relay import OutboxRelay
from services.planning.handlers import HANDLERS as PLANNING_HANDLERS
from services.planning.tables import CarePlanState, PlanningBase, PlanVersion

from .test_eventing import assessment_event, incoming

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def postgres(tmp_path_factory):
    server = PostgresServer(tmp_path_factory.mktemp("pg"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def two_workers(postgres):
    """Two engines (two pools of connections, as two worker processes have) on one fresh database."""
    name = f"planning_{uuid.uuid4().hex[:8]}"
    postgres.create_databases([name])
    workers = [Database(postgres.url(name), PlanningBase.metadata) for _ in range(2)]
    await asyncio.gather(*(db.create_all() for db in workers))  # both at once: created once
    yield workers
    for db in workers:
        await db.dispose()


def value_of(event) -> bytes:
    return to_record(wrap(event, EventContext.new("t", "adult-mh"))).value


def test_the_server_runs_with_one_database_per_service_and_stops(tmp_path):
    server = PostgresServer(tmp_path)
    server.start(["intake", "planning"])
    try:
        assert {"intake", "planning"} <= set(server.psql("select datname from pg_database").split())
        assert server.psql("show listen_addresses").strip() == "127.0.0.1"
        assert port_open("127.0.0.1", server.port)
    finally:
        server.stop()
    assert not port_open("127.0.0.1", server.port)


async def test_two_workers_handling_the_same_events_at_once_apply_each_once(two_workers):
    consumers = [EventConsumer("planning", db, PLANNING_HANDLERS) for db in two_workers]
    values = [value_of(assessment_event(f"p-pg-{i}")) for i in range(8)]
    outcomes = await asyncio.gather(*(c.handle(incoming(v, offset=n)) for n, v in enumerate(values)
                                      for c in consumers))
    assert sorted(outcomes) == sorted([Outcome.HANDLED, Outcome.DUPLICATE] * len(values))
    async with two_workers[0].sessions() as s:
        plans = await s.scalar(select(func.count()).select_from(PlanVersion))
        outbox = await s.scalar(select(func.count()).select_from(OutboxMessage))
        processed = await s.scalar(select(func.count()).select_from(ProcessedEvent))
    assert (plans, outbox, processed) == (8, 8, 8)


async def test_concurrent_attendance_of_one_participant_loses_no_update(two_workers):
    consumers = [EventConsumer("planning", db, PLANNING_HANDLERS) for db in two_workers]
    assert await consumers[0].handle(incoming(value_of(assessment_event("p-pg-att")))) is Outcome.HANDLED
    async with two_workers[0].sessions() as s:
        plan_id = await s.scalar(select(CarePlanState.plan_id).where(CarePlanState.participant_id == "p-pg-att"))
    attended = [SessionAttended(participant_id="p-pg-att", session_id=f"ses-{n}", plan_id=plan_id,
                                modality=Modality.GROUP_CBT_SKILLS, minutes_attended=60,
                                attended_at=datetime.now(UTC)) for n in range(12)]
    # each worker handles half of them, all at once: every increment must survive
    outcomes = await asyncio.gather(*(consumers[n % 2].handle(incoming(value_of(e), offset=n))
                                      for n, e in enumerate(attended)))
    assert set(outcomes) == {Outcome.HANDLED}
    async with two_workers[1].sessions() as s:
        state = await s.get(CarePlanState, plan_id)
    assert (state.sessions_attended, state.minutes_attended) == (12, 720)


async def test_one_relay_at_a_time_takes_a_released_lease_on_a_shared_database(two_workers):
    first = OutboxRelay(two_workers[0], producer=None, lease_s=30)
    assert await first.lease.hold()
    await first.lease.release()
    # two relays of two workers reach for the lapsed lease at once: the row lock lets one have it
    contenders = [OutboxRelay(db, producer=None, lease_s=30) for db in two_workers]
    held = await asyncio.gather(*(r.lease.hold() for r in contenders))
    assert sorted(held) == [False, True]
    assert not await first.lease.hold(), "taken over"


async def test_a_deadlock_postgresql_breaks_reaches_the_caller_as_transient(two_workers):
    """PostgreSQL aborts one of two transactions that wait on each other: the consumer retries
    OperationalError (as SQLite's 'database is locked'), so the abort must arrive as one."""
    async with two_workers[0].transaction() as session:
        await session.execute(text("create table if not exists pair (id int primary key, n int)"))
        await session.execute(text("insert into pair values (1, 0), (2, 0) on conflict do nothing"))
    both_hold_one = asyncio.Barrier(2)

    async def update_in_order(db: Database, first: int, second: int) -> None:
        async with db.transaction(serialized=False) as session:
            await session.execute(text("update pair set n = n + 1 where id = :id"), {"id": first})
            await both_hold_one.wait()
            await session.execute(text("update pair set n = n + 1 where id = :id"), {"id": second})

    results = await asyncio.gather(update_in_order(two_workers[0], 1, 2), update_in_order(two_workers[1], 2, 1),
                                   return_exceptions=True)
    failures = [r for r in results if isinstance(r, BaseException)]
    assert len(failures) == 1 and isinstance(failures[0], OperationalError), results
    assert failures[0].orig.sqlstate == "40P01"


async def test_a_constraint_the_handler_breaks_is_dead_lettered_on_postgresql(two_workers):
    async def clashing(ctx, event):
        ctx.session.add(PlanVersion(plan_id="plan-same", version=1, participant_id=event.participant_id,
                                    episode_id="ep", tenant_id="t", program_id="adult-mh", body={}))

    consumer = EventConsumer("planning", two_workers[0], {AssessmentCompleted: clashing})
    assert await consumer.handle(incoming(value_of(assessment_event("p-one")))) is Outcome.HANDLED
    assert await consumer.handle(incoming(value_of(assessment_event("p-two")), offset=1)) is Outcome.DEAD_LETTERED
    async with two_workers[0].sessions() as s:
        row = await s.scalar(select(OutboxMessage).where(OutboxMessage.event_type == "dead_letter"))
    assert "IntegrityError" in dict(row.headers())["dlq_reason"].decode()
