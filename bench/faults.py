"""The fault suite: participants driven through the real stack while a process, the broker
or the input misbehaves; each scenario reports ``tried / completed / lost / duplicated``.

Run at small scale by the tests (tests/faults) and on demand at any scale:
``python -m bench faults --participants 1000`` (``--scenario postgresql`` for one scenario)."""

import json
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from kafka import KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, OffsetSpec

from deploy import api_client as api
from deploy.demo_cohort import assessment, referral
from deploy.kafka_cluster import KafkaCluster
from deploy.processes import wait_until
from deploy.stack import Stack
from services.contracts.base import SERVICES
from services.contracts.topics import CONSUMERS, SUBSCRIPTIONS, consumed_topics, dead_letter_topic, events_topic
from services.eventing.consumer_lag import LagProbe, group_id
from services.eventing.settings import KafkaSettings

from .tally import FaultResult, acknowledged_missing, read_topic_events, rows_per_participant, tally


@dataclass
class Cohort:
    """Admits participants in batches; a fault can be injected between two batches."""

    stack: Stack
    size: int
    start_index: int = 0
    admitted: list[str] = field(default_factory=list)

    def admit(self, between_batches: Callable[[int], None] = lambda batch: None, batches: int = 4) -> None:
        per = max(1, self.size // batches)
        with self.stack.client(timeout=30) as http:
            for b, first in enumerate(range(0, self.size, per)):
                if b:
                    between_batches(b)
                for i in range(self.start_index + first, self.start_index + min(first + per, self.size)):
                    pid = api.refer(http, self.stack.urls(), referral(i))["participant_id"]
                    if api.assess(http, self.stack.urls(), pid, assessment(i))["admitted_to_iop"]:
                        self.admitted.append(pid)


def wait_for_end_state(scenario: str, stack: Stack, cohort: Cohort, timeout_s: float) -> FaultResult:
    deadline = time.monotonic() + timeout_s
    while True:
        result = tally(scenario, stack.bootstrap, stack.config.topic_prefix,
                       {s: stack.database_url(s) for s in ("planning", "scheduling")}, cohort.admitted, cohort.size)
        if result.completed == len(cohort.admitted) or time.monotonic() > deadline:
            return result
        time.sleep(2)


def kill_and_restart(stack: Stack, service: str) -> None:
    os.killpg(stack.procs[service].pid, signal.SIGKILL)
    stack.procs[service].wait(timeout=10)
    stack.start_service(service)
    stack.wait_service(service)


def kill_workers(stack: Stack, size: int, start_index: int, timeout_s: float = 300) -> FaultResult:
    """1. kill -9 each service's worker in the middle of a run, restart it."""
    cohort = Cohort(stack, size, start_index)

    def fault(batch: int) -> None:
        if batch == 1:
            for service in ("planning", "scheduling", "intake", "aftercare"):
                kill_and_restart(stack, service)

    cohort.admit(fault, batches=2)
    return wait_for_end_state("kill -9 each worker", stack, cohort, timeout_s)


def restart_broker(stack: Stack, size: int, start_index: int, timeout_s: float = 300) -> FaultResult:
    """2. restart the Kafka broker in the middle of a run (admissions go on while it is down)."""
    if stack.kafka is None:
        raise RuntimeError("the broker restart scenario needs the broker started by deploy/")
    cohort = Cohort(stack, size, start_index)

    def fault(batch: int) -> None:
        if batch == 1:
            stack.kafka.stop()
        if batch == 2:
            stack.kafka.start()

    cohort.admit(fault, batches=3)
    return wait_for_end_state("restart the broker", stack, cohort, timeout_s)


def _groups(stack: Stack) -> dict[str, list[str]]:
    prefix = stack.config.topic_prefix
    return {group_id(s, prefix): consumed_topics(s, prefix) for s in CONSUMERS}


def consumer_lag(stack: Stack) -> int:
    probe = LagProbe(KafkaSettings(bootstrap_servers=stack.bootstrap))
    try:
        lags = probe.lag(_groups(stack))
    finally:
        probe.close()  # an admin client left open retries the stopped broker (and logs) after the run
    missing = set(_groups(stack)) - set(lags)
    return sum(sum(t.values()) for t in lags.values()) + (1 if missing else 0)


def _offset(v) -> int:
    return v if isinstance(v, int) else getattr(v, "offset", v)


def stack_partitions(admin: KafkaAdminClient, topic: str) -> int:
    return len(admin.describe_topics([topic])[0]["partitions"])


# Events the clock causes, not a consumed event: a check-in's grace window ending during the
# replay is not an effect of the replay.
TIME_DRIVEN = ("continuum.aftercare.follow_up_missed.v1",)


def _effects_snapshot(stack: Stack) -> tuple[dict, dict]:
    events = {}
    for _, pid, ce_type, ce_id in read_topic_events(stack.bootstrap, [events_topic(s, stack.config.topic_prefix)
                                                                       for s in SERVICES]):
        if ce_type not in TIME_DRIVEN:
            events.setdefault((pid, ce_type), set()).add(ce_id)
    rows = {f"{db}.{table}": rows_per_participant(stack.database_url(db), table)
            for db, table in (("intake", "assessments"), ("planning", "care_plan_state"), ("scheduling", "sessions"),
                              ("aftercare", "follow_ups"))}
    return {k: len(v) for k, v in events.items()}, rows


def replay_everything(stack: Stack, timeout_s: float = 300) -> FaultResult:
    """3. replay every topic from the beginning into the consumers: no new effect anywhere."""
    wait_until_quiet(stack, timeout_s)
    events_before, rows_before = _effects_snapshot(stack)
    for s in CONSUMERS:
        stack.stop_service(s)
    admin = KafkaAdminClient(bootstrap_servers=stack.bootstrap)
    try:
        for group, topics in _groups(stack).items():
            parts = [TopicPartition(t, p) for t in topics for p in range(stack_partitions(admin, t))]
            admin.reset_group_offsets(group, dict.fromkeys(parts, OffsetSpec.EARLIEST))
        replayed = sum(_offset(v) for v in admin.list_partition_offsets(
            {TopicPartition(t, p): OffsetSpec.LATEST for ts in _groups(stack).values() for t in ts
             for p in range(stack_partitions(admin, t))}).values())
    finally:
        admin.close()
    for s in CONSUMERS:
        stack.start_service(s)
    for s in CONSUMERS:
        stack.wait_service(s)
    wait_until_quiet(stack, timeout_s)
    events_after, rows_after = _effects_snapshot(stack)
    new_events = sum(max(0, n - events_before.get(k, 0)) for k, n in events_after.items())
    new_rows = sum(max(0, n - rows_before[t].get(pid, 0)) for t, c in rows_after.items() for pid, n in c.items())
    lost = sum(max(0, n - events_after.get(k, 0)) for k, n in events_before.items())
    return FaultResult("replay every topic", replayed, replayed - lost, lost, new_events + new_rows,
                       f"{new_events} new events, {new_rows} new rows")


def wait_until_quiet(stack: Stack, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while consumer_lag(stack) > 0 and time.monotonic() < deadline:
        time.sleep(1)
    time.sleep(2)  # let the relays publish what the last events caused
    while consumer_lag(stack) > 0 and time.monotonic() < deadline:
        time.sleep(1)


def poison_messages(good: dict, count: int) -> list[tuple[bytes, str]]:
    """(value, expected reason) of every kind: malformed, not a CloudEvent, unknown type,
    future version, invalid data, oversized."""
    kinds = [
        (lambda n: f"{{ not json {n}".encode(), "not JSON"),
        (lambda n: json.dumps({"specversion": "1.0", "id": f"bad-{n}"}).encode(), "not a CloudEvent"),
        (lambda n: json.dumps({**good, "id": f"poison-unknown-{n}",
                               "type": "continuum.intake.moon_landed.v1"}).encode(), "unknown event type"),
        (lambda n: json.dumps({**good, "id": f"poison-future-{n}",
                               "type": good["type"].rsplit(".", 1)[0] + ".v2"}).encode(), "unknown event type"),
        (lambda n: json.dumps({**good, "id": f"poison-invalid-{n}",
                               "data": {**good["data"], "participant_id": 7}}).encode(), "invalid"),
        (lambda n: b"{" + b" " * (600 * 1024) + f'"n": {n}}}'.encode(), "oversized"),
    ]
    return [(kinds[n % len(kinds)][0](n), kinds[n % len(kinds)][1]) for n in range(count)]


def poison(stack: Stack, size: int, start_index: int, bad: int = 200, timeout_s: float = 300) -> FaultResult:
    """4. bad events interleaved with real ones: every bad one dead-lettered with its reason
    by every consumer of its topic; every real participant completes."""
    prefix = stack.config.topic_prefix
    sample = next(e for e in read_topic_events(stack.bootstrap, [events_topic("intake", prefix)])
                  if e[2].endswith("assessment_completed.v1"))
    good = _read_value(stack, events_topic("intake", prefix), sample[3])
    messages = poison_messages(good, bad)
    producer = KafkaProducer(bootstrap_servers=stack.bootstrap, acks="all", max_request_size=2 * 1024 * 1024)
    cohort = Cohort(stack, size, start_index)
    sent: dict[str, list[tuple[bytes, str]]] = {s: [] for s in SERVICES}

    def inject(batch: int) -> None:
        share = messages[(batch - 1) * len(messages) // 3: batch * len(messages) // 3]
        for n, (value, reason) in enumerate(share):
            producer_service = SERVICES[n % len(SERVICES)]
            producer.send(events_topic(producer_service, prefix), value=value, key=b"p-poison",
                          headers=[("poison", b"1")])
            sent[producer_service].append((value, reason))
        producer.flush()

    cohort.admit(inject, batches=4)
    producer.close()
    result = wait_for_end_state("poison", stack, cohort, timeout_s)
    expected = {(consumer, v): r for producer_service, items in sent.items() for v, r in items
                for consumer in SERVICES if producer_service in SUBSCRIPTIONS[consumer]}
    found = _dead_letters(stack, {c for c, _ in expected})
    missing = [k for k, reason in expected.items() if reason not in found.get(k, "")]
    return FaultResult("poison", result.tried + len(messages), result.completed + len(expected) - len(missing),
                       result.lost + len(missing), result.duplicated,
                       f"{len(messages)} bad messages, {len(expected)} dead letters expected, "
                       f"{len(missing)} missing")


def _read_value(stack: Stack, topic: str, ce_id: str) -> dict:
    from kafka import KafkaConsumer

    c = KafkaConsumer(topic, bootstrap_servers=stack.bootstrap, group_id=None, auto_offset_reset="earliest",
                      consumer_timeout_ms=3000)
    try:
        for m in c:
            if dict(m.headers or ()).get("ce_id", b"").decode() == ce_id:
                return json.loads(m.value)
    finally:
        c.close()
    raise LookupError(ce_id)


def _dead_letters(stack: Stack, consumers: set[str]) -> dict[tuple[str, bytes], str]:
    from kafka import KafkaConsumer

    out = {}
    for consumer in consumers:
        topic = dead_letter_topic(consumer, stack.config.topic_prefix)
        c = KafkaConsumer(topic, bootstrap_servers=stack.bootstrap, group_id=None, auto_offset_reset="earliest",
                          consumer_timeout_ms=3000, fetch_max_bytes=4 * 1024 * 1024,
                          max_partition_fetch_bytes=4 * 1024 * 1024)
        try:
            for m in c:
                out[(consumer, m.value)] = dict(m.headers or ()).get("dlq_reason", b"").decode()
        finally:
            c.close()
    return out


def group_members(stack: Stack, service: str) -> int:
    admin = KafkaAdminClient(bootstrap_servers=stack.bootstrap)
    try:
        group = f"{stack.config.topic_prefix}continuum-{service}"
        return len(admin.describe_groups([group])[group].get("members", []))
    finally:
        admin.close()


def start_second_workers(stack: Stack, services: tuple[str, ...], timeout_s: float = 60) -> dict[str, int]:
    """A second worker of each service, in its consumer group; the members each group has then."""
    names = [stack.start_service(s, worker=2) for s in services]
    for name in names:
        stack.wait_service(name)
    deadline = time.monotonic() + timeout_s
    while any(group_members(stack, s) < 2 for s in services) and time.monotonic() < deadline:
        time.sleep(0.5)
    return {s: group_members(stack, s) for s in services}


def kill_second_workers(stack: Stack, services: tuple[str, ...]) -> None:
    for name in (f"{s}-2" for s in services):
        os.killpg(stack.procs[name].pid, signal.SIGKILL)
        stack.procs.pop(name).wait(timeout=10)


def two_workers_one_killed(stack: Stack, size: int, start_index: int, service: str = "planning",
                           timeout_s: float = 300) -> FaultResult:
    """5. two workers of one service in one consumer group (sharing its database), one of them
    killed mid-run: its partitions move to the other, nothing is lost."""
    members = start_second_workers(stack, (service,))[service]
    cohort = Cohort(stack, size, start_index)
    cohort.admit(lambda batch: kill_second_workers(stack, (service,)) if batch == 1 else None, batches=2)
    result = wait_for_end_state(f"two {service} workers, one killed", stack, cohort, timeout_s)
    return FaultResult(result.scenario, result.tried, result.completed, result.lost, result.duplicated,
                       f"{members} members in the group before the kill" + (
                           f"; {result.detail}" if result.detail else ""))


def _partitions(stack: Stack) -> list[dict]:
    """Every partition of the stack's topics and of the consumer offsets (leader, replicas, ISR)."""
    admin = KafkaAdminClient(bootstrap_servers=stack.bootstrap, request_timeout_ms=10000)
    try:
        topics = [t for t in admin.list_topics()
                  if t.startswith(f"{stack.config.topic_prefix}continuum.") or t == "__consumer_offsets"]
        return [p for t in admin.describe_topics(topics) for p in t["partitions"]]
    finally:
        admin.close()


def fully_in_sync(stack: Stack, replicas: int) -> bool:
    return all(len(p["isr_nodes"]) >= replicas for p in _partitions(stack))


def kill_a_broker(stack: Stack, size: int, start_index: int, timeout_s: float = 300) -> FaultResult:
    """7. a three-broker cluster (replication factor 3, min.insync.replicas 2): kill -9 the active
    controller, which also leads about a third of the partitions, in the middle of a run, and bring
    it back. Every participant reaches its end state, and every event a relay got acknowledged
    (its outbox row stamped published) is on its topic afterwards."""
    cluster = stack.kafka
    if not isinstance(cluster, KafkaCluster):
        raise RuntimeError("the broker-kill scenario needs a cluster started by deploy/ (kafka_brokers=3)")
    cohort = Cohort(stack, size, start_index)
    killed: dict[str, int] = {}

    def fault(batch: int) -> None:
        if batch == 1:
            controller = cluster.active_controller()
            victim = controller or 1
            parts = _partitions(stack)
            killed.update(node=victim, controller=victim == controller,
                          led=sum(p["leader_id"] == victim for p in parts), of=len(parts))
            cluster.node(victim).kill()
        if batch == 2:
            cluster.restart_node(killed["node"])

    cohort.admit(fault, batches=3)
    result = wait_for_end_state("kill -9 a broker of three", stack, cohort, timeout_s)
    # the restarted node catches up and rejoins every ISR (a replica lost with it would keep it out)
    try:
        wait_until(lambda: fully_in_sync(stack, cluster.replication), timeout_s, "every partition's ISR full again")
        in_sync = "every ISR full again"
    except TimeoutError:
        in_sync = "some ISR still short"
    acknowledged, missing = acknowledged_missing(stack.bootstrap, stack.data_dir)
    return FaultResult(result.scenario, result.tried, result.completed, result.lost + missing, result.duplicated,
                       f"node {killed['node']} killed"
                       f"{' (the active controller)' if killed['controller'] else ''}, leading {killed['led']} of "
                       f"{killed['of']} partitions; {acknowledged} acknowledged events, {missing} missing "
                       f"from their topics; {in_sync}" + (f"; {result.detail}" if result.detail else ""))


def two_workers_on_postgresql(stack: Stack, size: int, start_index: int,
                              services: tuple[str, ...] = ("planning", "scheduling"),
                              timeout_s: float = 300) -> FaultResult:
    """6. every service's store on PostgreSQL; two workers each of the busiest services sharing
    their database, the second of each killed mid-run: each participant's effects still happen
    once (units of work serialized per participant, see services/eventing/database.py)."""
    if stack.postgres is None:
        raise ValueError("the PostgreSQL scenario needs a stack started with database='postgresql'")
    members = start_second_workers(stack, services)
    cohort = Cohort(stack, size, start_index)
    cohort.admit(lambda batch: kill_second_workers(stack, services) if batch == 1 else None, batches=2)
    result = wait_for_end_state(f"PostgreSQL, two {' and two '.join(services)} workers, one of each killed",
                                stack, cohort, timeout_s)
    groups = ", ".join(f"{s} {n}" for s, n in members.items())
    return FaultResult(result.scenario, result.tried, result.completed, result.lost, result.duplicated,
                       f"group members before the kill: {groups}" + (f"; {result.detail}" if result.detail else ""))


SCENARIOS = {"kill": kill_workers, "broker": restart_broker, "poison": poison, "two-workers": two_workers_one_killed,
             "postgresql": two_workers_on_postgresql, "kill-a-broker": kill_a_broker}
