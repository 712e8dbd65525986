"""A Kafka cluster on loopback: three (or more) combined broker/controller nodes, each a
``KafkaBroker`` with its own node id, ports and data directory, one static controller quorum
and one cluster id formatted on every node. Internal topics are replicated to three nodes and a
write needs two in-sync replicas (``min.insync.replicas=2``), so with ``acks=all`` an
acknowledged record survives losing any one node. ``python -m deploy kafka --brokers 3`` runs it."""

import json
import os
import signal
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from services.eventing.settings import KafkaSettings

from .kafka_runner import KafkaBroker, new_cluster_id
from .processes import free_port, signal_stop, wait_until

DEFAULT_PORT = 19092  # the default cluster takes 19092..19097: node n on 19090+2n, its controller on 19091+2n


@dataclass
class ClusterNode(KafkaBroker):
    """One node of the cluster: the single broker's configuration, with the cluster's node id,
    quorum and replication settings put over it."""

    node_id: int = 1
    cluster_id: str = ""
    overrides: dict[str, str] = field(default_factory=dict)

    def _write_config(self) -> Path:
        props = super()._write_config()
        settings = dict(line.split("=", 1) for line in props.read_text().splitlines() if "=" in line)
        settings.update({"node.id": str(self.node_id), **self.overrides})
        props.write_text("".join(f"{k}={v}\n" for k, v in settings.items()))
        return props

    def format(self, props: Path) -> None:
        if (self.data_dir / "logs" / "meta.properties").exists():
            return
        subprocess.run(self._java("kafka.tools.StorageTool", "format", "-t", self.cluster_id, "-c", str(props)),
                       check=True, capture_output=True)

    def kill(self) -> None:
        """kill -9: no clean shutdown, no leadership handed over."""
        if self.proc is not None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)
            self.proc = None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def quorum_leader(self) -> int | None:
        """The active controller as this node last recorded it (KRaft's quorum-state file)."""
        state = self.data_dir / "logs" / "__cluster_metadata-0" / "quorum-state"
        try:
            leader = json.loads(state.read_text()).get("leaderId", -1)
        except (OSError, ValueError):
            return None
        return leader if leader > 0 else None


@dataclass
class KafkaCluster:
    data_dir: Path
    size: int = 3
    port: int = DEFAULT_PORT
    heap: str = "512m"
    replication: int = 3
    min_insync: int = 2
    nodes: list[ClusterNode] = field(init=False)

    def __post_init__(self) -> None:
        if self.size < self.replication:
            raise ValueError(f"{self.size} nodes cannot hold {self.replication} replicas")
        ids = range(1, self.size + 1)
        default = self.port == DEFAULT_PORT
        ports = {n: self.port if n == 1 else (DEFAULT_PORT + 2 * (n - 1) if default else free_port()) for n in ids}
        controllers = {n: DEFAULT_PORT + 2 * n - 1 if default else free_port() for n in ids}
        id_file = self.data_dir / "cluster.id"  # a restarted cluster keeps its id (storage is formatted once)
        cluster_id = id_file.read_text().strip() if id_file.exists() else new_cluster_id()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        id_file.write_text(cluster_id)
        voters = ",".join(f"{n}@127.0.0.1:{controllers[n]}" for n in ids)
        overrides = {
            "controller.quorum.voters": voters,
            "offsets.topic.replication.factor": str(self.replication),
            "transaction.state.log.replication.factor": str(self.replication),
            "transaction.state.log.min.isr": str(self.min_insync),
            "default.replication.factor": str(self.replication),
            "min.insync.replicas": str(self.min_insync),
            "unclean.leader.election.enable": "false",
        }
        self.nodes = [ClusterNode(self.data_dir / f"node-{n}", ports[n], controllers[n], self.heap,
                                  node_id=n, cluster_id=cluster_id, overrides=overrides) for n in ids]

    @property
    def bootstrap(self) -> str:
        return ",".join(node.bootstrap for node in self.nodes)

    @property
    def admin_settings(self) -> KafkaSettings:
        """How to connect as the administrator (plaintext: secure mode runs one broker)."""
        return KafkaSettings(bootstrap_servers=self.bootstrap)

    def node(self, node_id: int) -> ClusterNode:
        return self.nodes[node_id - 1]

    def start(self, timeout_s: float = 180) -> None:
        """Start every node, then wait until each is a registered broker (so topics created
        next get their full replication factor). The nodes start side by side: none is ready
        before a majority of the controller quorum is up."""
        with ThreadPoolExecutor(self.size) as pool:
            starts = [pool.submit(node.start, timeout_s) for node in self.nodes]
        try:
            for s in starts:
                s.result()
            wait_until(lambda: len(self.registered_brokers()) == self.size, timeout_s,
                       f"{self.size} brokers registered in the cluster at {self.bootstrap}")
        except BaseException:
            self.stop()
            raise

    def registered_brokers(self) -> set[int]:
        """The brokers the controller counts as alive (registered and not fenced)."""
        from kafka.admin import KafkaAdminClient

        admin = KafkaAdminClient(bootstrap_servers=self.live_bootstrap(), request_timeout_ms=5000)
        try:
            return {b["broker_id"] for b in admin.describe_cluster()["brokers"] if not b.get("is_fenced")}
        finally:
            admin.close()

    def live_bootstrap(self) -> str:
        return ",".join(node.bootstrap for node in self.nodes if node.running) or self.bootstrap

    def active_controller(self) -> int | None:
        """The quorum leader, as most running nodes record it."""
        votes = [n.quorum_leader() for n in self.nodes if n.running]
        votes = [v for v in votes if v is not None]
        return max(set(votes), key=votes.count) if votes else None

    def restart_node(self, node_id: int, timeout_s: float = 180) -> None:
        self.node(node_id).start(timeout_s)
        wait_until(lambda: node_id in self.registered_brokers(), timeout_s, f"node {node_id} registered again")

    def stop(self) -> None:
        for node in self.nodes:  # all at once: the last ones must not wait on a quorum already gone
            signal_stop(node.proc)
        for node in self.nodes:
            node.stop()
