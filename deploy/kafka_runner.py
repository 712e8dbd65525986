"""Apache Kafka 4.x (KRaft), for real: assembled from Maven Central with ``mvn`` (cached
in deploy/kafka/lib), storage formatted once, one combined broker/controller on
loopback with a small heap. ``python -m deploy kafka`` runs it on its own; with a
KafkaSecurity (deploy/kafka_security.py) it runs secured: SASL/SCRAM over TLS, ACLs."""

import base64
import hashlib
import shutil
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from services.eventing.kafka_connection import kafka_python_options
from services.eventing.settings import KafkaSettings

from .kafka_security import KafkaSecurity, with_properties
from .processes import free_port, port_open, start, stop, wait_until

KAFKA_DIR = Path(__file__).parent / "kafka"
LIB = KAFKA_DIR / "lib"
STAMP = LIB / ".pom.sha256"


def new_cluster_id() -> str:
    """A KRaft cluster id (url-safe base64 of a random UUID). Like Kafka's own Uuid.randomUuid,
    never one that starts with '-': the storage tool would read it as an option."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def assemble() -> Path:
    """Copy the broker and its runtime dependencies into deploy/kafka/lib (once per pom)."""
    pom = KAFKA_DIR / "pom.xml"
    digest = hashlib.sha256(pom.read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == digest:
        return LIB
    if shutil.which("mvn") is None:
        raise RuntimeError("mvn not found: Maven is needed to assemble the Kafka broker")
    shutil.rmtree(LIB, ignore_errors=True)
    subprocess.run(["mvn", "-q", "-B", "-f", str(pom), "dependency:copy-dependencies",
                    f"-DoutputDirectory={LIB}", "-DincludeScope=runtime"], check=True)
    STAMP.write_text(digest)
    return LIB


@dataclass
class KafkaBroker:
    data_dir: Path
    port: int = 19092
    controller_port: int | None = None
    heap: str = "512m"
    security: KafkaSecurity | None = None
    proc: subprocess.Popen | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        # beside the default port, the default controller port; otherwise a free one, so that
        # test sessions running side by side on one machine do not collide on it
        if self.controller_port is None:
            self.controller_port = 19093 if self.port == 19092 else free_port()

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def admin_settings(self) -> KafkaSettings:
        """How to connect as the administrator (to create topics and ACLs)."""
        if self.security:
            return self.security.client_settings("admin", self.bootstrap)
        return KafkaSettings(bootstrap_servers=self.bootstrap)

    @property
    def log_file(self) -> Path:
        return self.data_dir / "broker.log"

    def _java(self, *args: str) -> list[str]:
        return ["java", f"-Xmx{self.heap}", f"-Xms{self.heap}", "-XX:+UseG1GC",
                f"-Dlog4j2.configurationFile={KAFKA_DIR / 'log4j2.properties'}",
                "-cp", f"{LIB}/*", *args]

    def _write_config(self) -> Path:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        props = self.data_dir / "server.properties"
        lines = [
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.voters=1@127.0.0.1:{self.controller_port}",
            f"listeners=PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names=CONTROLLER",
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            f"log.dirs={self.data_dir / 'logs'}",
            "offsets.topic.replication.factor=1",
            "offsets.topic.num.partitions=10",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "group.initial.rebalance.delay.ms=0",
            "auto.create.topics.enable=false",
            "num.partitions=1",
        ]
        if self.security:
            assert self.controller_port is not None  # chosen in __post_init__
            lines = with_properties(lines, self.security.broker_properties(self.port, self.controller_port))
        props.write_text("\n".join(lines) + "\n")
        props.chmod(0o600)  # a secured broker's own password is in it
        return props

    def format(self, props: Path) -> None:
        if (self.data_dir / "logs" / "meta.properties").exists():
            return
        cluster_id = new_cluster_id()
        scram = self.security.format_args() if self.security else []
        subprocess.run(self._java("kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(props), *scram),
                       check=True, capture_output=True)

    def start(self, timeout_s: float = 90) -> None:
        if port_open("127.0.0.1", self.port):
            raise RuntimeError(f"port {self.port} is already in use: is another Kafka running? "
                               "Stop it, choose CONTINUUM_KAFKA_PORT, or set KAFKA_BOOTSTRAP_SERVERS to use it")
        assemble()
        if self.security:
            self.security.prepare(storage_formatted=(self.data_dir / "logs" / "meta.properties").exists())
        props = self._write_config()
        self.format(props)
        self.proc = start(self._java("kafka.Kafka", str(props)), self.log_file)
        wait_until(self._ready, timeout_s, f"Kafka broker on {self.bootstrap}", self.proc, self.log_file)

    def _ready(self) -> bool:
        if not port_open("127.0.0.1", self.port):
            return False
        from kafka.admin import KafkaAdminClient

        admin = KafkaAdminClient(**kafka_python_options(self.admin_settings), request_timeout_ms=3000)
        try:
            admin.list_topics()
            return True
        finally:
            admin.close()

    def stop(self) -> None:
        stop(self.proc, timeout_s=30)
        self.proc = None
