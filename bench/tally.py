"""Counting a run's outcome per participant, on the topics and in each service's
database: completed (reached its end state), lost (admitted but never got there) and
duplicated (an effect that happened twice: two plans, two placements)."""

import asyncio
import sqlite3
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from kafka import KafkaConsumer, TopicPartition

from services.contracts.base import SERVICES
from services.contracts.topics import events_topic


@dataclass(frozen=True)
class FaultResult:
    scenario: str
    tried: int
    completed: int
    lost: int
    duplicated: int
    detail: str = ""

    def line(self) -> str:
        return (f"{self.scenario}: tried {self.tried} / completed {self.completed} / lost {self.lost} / "
                f"duplicated {self.duplicated}" + (f"  ({self.detail})" if self.detail else ""))


def read_topic_events(bootstrap: str, topics: list[str]) -> list[tuple[str, str, str, str]]:
    """(topic, participant id, ce_type, ce_id) of every record, from the beginning."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                             consumer_timeout_ms=2000)
    parts = [TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or ())]
    consumer.assign(parts)
    consumer.seek_to_beginning(*parts)
    ends = consumer.end_offsets(parts)
    out = []
    while any(consumer.position(tp) < ends[tp] for tp in parts):
        for records in consumer.poll(timeout_ms=1000, max_records=5000).values():
            for m in records:
                h = dict(m.headers or ())
                out.append((m.topic, (m.key or b"").decode(), h.get("ce_type", b"").decode(),
                            h.get("ce_id", b"").decode()))
    consumer.close()
    return out


def effects_on_topics(bootstrap: str, prefix: str) -> dict[str, Counter]:
    """Per participant: how many DISTINCT events of each type (a resent event keeps its id,
    so at-least-once delivery is not counted as a duplicate effect)."""
    seen: dict[str, set] = defaultdict(set)
    for _, pid, ce_type, ce_id in read_topic_events(bootstrap, [events_topic(s, prefix) for s in SERVICES]):
        seen[pid].add((ce_type, ce_id))
    return {pid: Counter(t for t, _ in ids) for pid, ids in seen.items()}


def rows_per_participant(store: str, table: str, column: str = "participant_id") -> Counter:
    """Rows of a table per participant in a service's store (its SQLAlchemy URL: a SQLite file
    or a PostgreSQL database); empty while the table does not exist."""
    query = f"select {column}, count(*) from {table} group by {column}"
    if store.startswith("postgresql"):
        return Counter(dict(asyncio.run(_postgresql_rows(store, query))))
    db = Path(store.split("///", 1)[1])
    if not db.exists():
        return Counter()
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return Counter(dict(con.execute(query).fetchall()))
    except sqlite3.OperationalError:
        return Counter()
    finally:
        con.close()


async def _postgresql_rows(url: str, query: str) -> list[tuple]:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        return [tuple(r) for r in await conn.fetch(query)]
    except asyncpg.UndefinedTableError:
        return []
    finally:
        await conn.close()


PLAN_CREATED = "continuum.planning.plan_created.v1"
SESSIONS_SCHEDULED = "continuum.scheduling.sessions_scheduled.v1"


def tally(scenario: str, bootstrap: str, prefix: str, stores: Mapping[str, str], admitted: list[str],
          tried: int) -> FaultResult:
    """End state for this path: the plan made once and its first weeks placed once, on the
    topics and in planning's and scheduling's stores (``stores``: service -> database URL)."""
    topics = effects_on_topics(bootstrap, prefix)
    plans_in_db = rows_per_participant(stores["planning"], "care_plan_state")
    schedules_in_db = rows_per_participant(stores["scheduling"], "participant_schedules")
    completed = lost = duplicated = 0
    dups: Counter = Counter()
    for pid in admitted:
        seen = topics.get(pid, Counter())
        plan_twice = seen[PLAN_CREATED] > 1 or plans_in_db[pid] > 1
        placed_twice = seen[SESSIONS_SCHEDULED] > 1
        dups.update(k for k, twice in (("plan", plan_twice), ("placement", placed_twice)) if twice)
        duplicated += plan_twice or placed_twice
        if seen[PLAN_CREATED] >= 1 and seen[SESSIONS_SCHEDULED] >= 1 and plans_in_db[pid] and schedules_in_db[pid]:
            completed += 1
        else:
            lost += 1
    return FaultResult(scenario, tried, completed, lost, duplicated,
                       ", ".join(f"{k} twice: {v}" for k, v in dups.items()))


def acknowledged_events(data_dir: Path) -> dict[str, set[str]]:
    """Per topic, the ids of the events a relay got acknowledged (``acks=all``): outbox rows
    stamped published, in every service's database."""
    out: dict[str, set[str]] = defaultdict(set)
    for service in SERVICES:
        db = data_dir / f"{service}.db"
        if not db.exists():
            continue
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            for topic, event_id in con.execute(
                    "select topic, event_id from outbox where published_at is not null and event_id is not null"):
                out[topic].add(event_id)
        finally:
            con.close()
    return dict(out)


def acknowledged_missing(bootstrap: str, data_dir: Path) -> tuple[int, int]:
    """(acknowledged, missing): every acknowledged event looked for on its topic."""
    acknowledged = acknowledged_events(data_dir)
    on_topics: dict[str, set[str]] = defaultdict(set)
    for topic, _, _, ce_id in read_topic_events(bootstrap, sorted(acknowledged)):
        on_topics[topic].add(ce_id)
    return (sum(len(ids) for ids in acknowledged.values()),
            sum(len(ids - on_topics[topic]) for topic, ids in acknowledged.items()))
