"""The operations read model against the real stack: its figures agree with what a plain
Kafka consumer counts on the topics, and a rebuild by replaying the topics equals it."""

import asyncio
import time

import pytest

from services.contracts.base import SERVICES
from services.contracts.topics import CONSUMERS, dead_letter_topic, events_topic
from services.eventing.database import Database
from services.eventing.settings import KafkaSettings
from services.operations.replay import replay
from services.operations.store import load_rows
from services.operations.tables import OperationsBase

from .operations_support import wait_caught_up

pytestmark = pytest.mark.e2e


def _tenant(record) -> str | None:
    try:
        return record.event.get("tenantid")
    except Exception:  # noqa: BLE001 - a poison message is no tenant's
        return None


def expected_from_topics(reader, dlq_reader, tenant: str = "demo-network") -> dict:
    """What the operations token of ``tenant`` should see (other tests use other tenants)."""
    reader.poll()
    dlq_reader.poll()
    records = [r for r in reader.records if _tenant(r) == tenant]
    types = [r.headers.get("ce_type", b"").decode() for r in records]
    count = lambda suffix: sum(t.endswith(suffix) for t in types)  # noqa: E731
    referrals = {r.event["data"]["referral_id"] for r in records
                 if r.headers.get("ce_type", b"").endswith(b"referral_received.v1")}
    attended = {r.event["data"]["session_id"] for r in records
                if r.headers.get("ce_type", b"").endswith(b"session_attended.v1")}
    return {"referred": len(referrals), "attended": len(attended),
            "safety_flags": count("safety_risk_flagged.v1"), "discharged": count("participant_discharged.v1"),
            "referred_out": count("referred_out.v1"), "dead_letters": len(dlq_reader.records)}


def observed(f: dict) -> dict:
    return {"referred": f["pipeline"]["stages"][0]["reached"], "attended": f["sessions"]["attended"],
            "safety_flags": f["safety_flags"]["raised"], "discharged": f["follow_up_completion"]["discharged"],
            "referred_out": f["pipeline"]["referred_out"], "dead_letters": f["dead_letters"]["total"]}


def test_the_figures_agree_with_the_topics(stack, demo_cohort, readers):
    prefix = stack.config.topic_prefix
    reader = readers(*[events_topic(s, prefix) for s in SERVICES])
    dlq_reader = readers(*[dead_letter_topic(c, prefix) for c in CONSUMERS])
    with stack.client("operations") as http:
        wait_caught_up(stack, http)
        deadline = time.monotonic() + 30
        while True:
            f = http.get(f"{stack.url('operations')}/api/figures").json()
            want = expected_from_topics(reader, dlq_reader)
            if observed(f) == want or time.monotonic() > deadline:
                break
            time.sleep(1)
        assert observed(f) == want
        assert want["referred"] >= 10 and want["safety_flags"] >= 1 and want["referred_out"] >= 1
        assert f["sessions"]["attendance_rate"] is not None and f["census"]["total"] >= 0
        assert [s["reached"] for s in f["pipeline"]["stages"]] == sorted(
            [s["reached"] for s in f["pipeline"]["stages"]], reverse=True), "a funnel narrows"
        assert f["follow_up_completion"]["by_day_offset"][0]["day_offset"] == 7
        lag = {s["service"]: s for s in f["consumer_lag"]["by_service"]}
        assert set(lag) == set(CONSUMERS) and lag["operations"]["lag"] == 0
        demo_only = http.get(f"{stack.url('operations')}/api/figures",
                             params={"tenant": "demo-network", "program": "adult-mh"}).json()
        assert demo_only["tenant_id"] == "demo-network" and demo_only["pipeline"]["stages"][0]["reached"] >= 10
        other = http.get(f"{stack.url('operations')}/api/figures", params={"tenant": "no-such-tenant"})
        assert other.status_code == 403 and "tenant" in other.json()["detail"], "no query crosses tenants"
    with stack.client("operations", tenant="no-such-tenant") as http:
        nobody = http.get(f"{stack.url('operations')}/api/figures").json()
        assert nobody["pipeline"]["stages"][0]["reached"] == 0 and nobody["census"]["total"] == 0


async def _rows(url: str) -> dict:
    db = Database(url, OperationsBase.metadata)
    try:
        async with db.sessions() as s:
            return await load_rows(s)
    finally:
        await db.dispose()


async def _rebuild(url: str, bootstrap: str, prefix: str) -> tuple[int, dict]:
    db = Database(url, OperationsBase.metadata)
    try:
        n = await replay(db, KafkaSettings(bootstrap_servers=bootstrap), prefix)
        async with db.sessions() as s:
            return n, await load_rows(s)
    finally:
        await db.dispose()


def test_the_read_model_rebuilt_by_replay_equals_the_live_one(stack, demo_cohort, tmp_path):
    live_url = f"sqlite+aiosqlite:///{stack.data_dir / 'operations.db'}"
    with stack.client() as http:
        for attempt in range(3):  # retried only if an event arrived between the two reads
            wait_caught_up(stack, http)
            live = asyncio.run(_rows(live_url))
            replayed, rebuilt = asyncio.run(_rebuild(
                f"sqlite+aiosqlite:///{tmp_path / f'rebuilt-{attempt}.db'}", stack.bootstrap,
                stack.config.topic_prefix))
            wait_caught_up(stack, http)
            if asyncio.run(_rows(live_url)) == live:
                break
    assert replayed > 100
    assert sum(len(rows) for rows in live.values()) > 50
    for table in live:
        assert rebuilt[table] == live[table], table
