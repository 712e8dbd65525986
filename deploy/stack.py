"""The whole system as a user starts it: Kafka (unless KAFKA_BOOTSTRAP_SERVERS names a
cluster), the topics, Keycloak (the identity provider: every token comes from it), the
Prefect server, the flow server, the four services and the
operations read model with its dashboard, each a real process with its log under
<data dir>/logs; the services' stores are SQLite files, or databases on a PostgreSQL server
it starts (``database="postgresql"``). Used by ``make run`` and the tests."""

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, cast

import httpx

from services.contracts.base import SERVICES
from services.contracts.topics import CONSUMERS
from services.eventing.settings import DEFAULT_PORTS, ContinuumSettings, KafkaSettings
from services.eventing.topic_admin import create_topics

from . import api_client
from .api_client import CARE_TEAM, Urls
from .identity_client import IdentityClient, verifier_env
from .kafka_acls import apply_acls
from .kafka_cluster import KafkaCluster
from .kafka_runner import KafkaBroker
from .kafka_security import KafkaSecurity
from .keycloak_runner import WORKFLOW_CLIENT, KeycloakServer
from .postgres_runner import PostgresServer
from .prefect_runner import ROOT, PrefectServer, start_flow_server
from .processes import free_port, signal_stop, start, stop, wait_until


@dataclass
class StackConfig:
    data_dir: Path = Path("data")
    kafka_port: int = 19092
    kafka_controller_port: int | None = None  # None: 19093 beside the default port, else a free one
    kafka_brokers: int = 1  # 3 or more: a KRaft cluster on loopback (replication 3, min.insync.replicas 2)
    prefect_port: int = 4200
    keycloak_port: int = 8180
    service_ports: dict[str, int] = field(default_factory=lambda: {
        "intake": 8101, "planning": 8102, "scheduling": 8103, "aftercare": 8104, "operations": 8105})
    topic_prefix: str = ""
    prefect_ui: bool = True
    extra_env: dict[str, str] = field(default_factory=dict)
    secure: bool = False  # the local broker with SASL/SCRAM over TLS and ACLs; each service its own principal
    database: Literal["sqlite", "postgresql"] = "sqlite"  # postgresql: one server, a database per service

    def __post_init__(self) -> None:
        for service, port in DEFAULT_PORTS.items():  # a service left out keeps its default port
            self.service_ports.setdefault(service, port)

    @classmethod
    def from_env(cls) -> "StackConfig":
        cfg = cls(data_dir=Path(os.environ.get("CONTINUUM_DATA_DIR", "data")).resolve(),
                  kafka_port=int(os.environ.get("CONTINUUM_KAFKA_PORT", 19092)),
                  kafka_brokers=int(os.environ.get("CONTINUUM_KAFKA_BROKERS", 1)),
                  prefect_port=int(os.environ.get("CONTINUUM_PREFECT_PORT", 4200)),
                  keycloak_port=int(os.environ.get("CONTINUUM_KEYCLOAK_PORT", 8180)),
                  topic_prefix=os.environ.get("CONTINUUM_TOPIC_PREFIX", ""),
                  secure=os.environ.get("CONTINUUM_KAFKA_SECURE", "") in ("1", "true", "yes"),
                  # any other value is refused by Stack()
                  database=cast(Literal["sqlite", "postgresql"], os.environ.get("CONTINUUM_DATABASE", "sqlite")))
        for s in CONSUMERS:
            if port := os.environ.get(f"CONTINUUM_{s.upper()}_HTTP_PORT"):
                cfg.service_ports[s] = int(port)
        return cfg


def local_kafka(config: StackConfig, data_dir: Path,
                security: KafkaSecurity | None = None) -> KafkaBroker | KafkaCluster:
    if config.kafka_brokers > 1:
        if security:
            raise ValueError("secure mode runs one broker: a secured cluster is not supported yet")
        return KafkaCluster(data_dir, config.kafka_brokers, config.kafka_port)
    return KafkaBroker(data_dir, config.kafka_port, config.kafka_controller_port, security=security)


class Stack:
    def __init__(self, config: StackConfig, beside: "Stack | None" = None):
        """``beside``: a running stack whose broker, Prefect server and flow server this one
        uses (with its own topic prefix, ports, data and stores); it stops only what it started."""
        if config.database not in ("sqlite", "postgresql"):
            raise ValueError(f"database must be sqlite or postgresql, not {config.database!r}")
        self.config = config
        self.data_dir = config.data_dir.resolve()
        self.shares_platform = beside is not None
        self.external_kafka = beside.bootstrap if beside else os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
        security = KafkaSecurity(self.data_dir / "kafka" / "security") if config.secure else None
        if self.external_kafka and security:
            raise ValueError("secure mode secures the local broker: unset KAFKA_BOOTSTRAP_SERVERS, or configure "
                             "an existing cluster's security with the KAFKA_* settings instead")
        self.kafka = None if self.external_kafka else local_kafka(config, self.data_dir / "kafka", security)
        self.prefect: PrefectServer = beside.prefect if beside else PrefectServer(
            self.data_dir / "prefect", config.prefect_port, ui=config.prefect_ui)
        self.postgres = PostgresServer(self.data_dir) if config.database == "postgresql" else None
        self.keycloak: KeycloakServer = beside.keycloak if beside else KeycloakServer(self.data_dir / "identity",
                                                                                      config.keycloak_port)
        self.owns_identity = beside is None  # False: another's Keycloak (beside, or use_identity): never stopped here
        self.procs: dict[str, subprocess.Popen] = {}

    @property
    def bootstrap(self) -> str:
        if self.external_kafka:
            return self.external_kafka
        assert self.kafka is not None  # the local broker, without an external one
        return self.kafka.bootstrap

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.config.service_ports[service]}"

    @property
    def dashboard_url(self) -> str:
        return f"{self.url('operations')}/"

    def urls(self) -> "Urls":
        return Urls(**{s: self.url(s) for s in SERVICES})  # the first worker of each service

    def database_url(self, service: str) -> str:
        if self.postgres:
            return self.postgres.url(service)
        return f"sqlite+aiosqlite:///{self.data_dir / f'{service}.db'}"

    def identity_env(self) -> dict[str, str]:
        """What every service and the flow server are told about identity: development chosen
        explicitly, the issuer they trust, and the flow server's own client (client credentials)."""
        return {
            "CONTINUUM_ENVIRONMENT": "development",
            **verifier_env(self.keycloak.issuer),
            "CONTINUUM_WORKFLOW_CLIENT_ID": WORKFLOW_CLIENT,
            "CONTINUUM_WORKFLOW_CLIENT_SECRET": self.keycloak.workflow_secret,
            "CONTINUUM_WORKFLOW_AFTERCARE_URL": self.url("aftercare"),
        }

    def service_env(self) -> dict[str, str]:
        env = {
            **self.identity_env(),
            **self.prefect.client_env(),
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
            "CONTINUUM_DATA_DIR": str(self.data_dir),
            "CONTINUUM_TOPIC_PREFIX": self.config.topic_prefix,
            "PYTHONUNBUFFERED": "1",
        }
        for s, port in self.config.service_ports.items():
            env[f"CONTINUUM_{s.upper()}_HTTP_PORT"] = str(port)
        if self.postgres:
            for s in CONSUMERS:
                env[f"CONTINUUM_{s.upper()}_DATABASE_URL"] = self.database_url(s)
        return {**env, **self.config.extra_env}

    @property
    def admin_kafka(self) -> KafkaSettings:
        """The administrator's connection (the KAFKA_* environment's for an existing cluster)."""
        return self.kafka.admin_settings if self.kafka else KafkaSettings(bootstrap_servers=self.bootstrap)

    def kafka_env(self, service: str) -> dict[str, str]:
        """A service's own Kafka principal in secure mode (nothing otherwise)."""
        security = getattr(self.kafka, "security", None)
        return security.client_env(service) if security else {}

    def start_kafka(self, timeout_s: float = 180) -> None:
        if self.kafka:
            self.kafka.start(timeout_s)
        create_topics(self.admin_kafka, ContinuumSettings(topic_prefix=self.config.topic_prefix))
        if getattr(self.kafka, "security", None):
            apply_acls(self.admin_kafka, self.config.topic_prefix)

    def start(self, on_step=lambda step: None) -> None:
        on_step(f"Kafka ({'existing cluster ' + self.bootstrap if self.external_kafka else 'starting broker'})")
        try:
            self.start_kafka()
        except BaseException:
            self.stop()
            raise
        self.start_platform(on_step)

    @property
    def environment(self) -> str:
        return self.service_env()["CONTINUUM_ENVIRONMENT"]

    def use_identity(self, server: KeycloakServer) -> None:
        """Use ``server`` (already started by its owner, e.g. the tests' session fixture) as this
        stack's Keycloak: stop() leaves it running; stop_identity()/start_identity() still work on it."""
        self.keycloak, self.owns_identity = server, False

    def start_identity(self) -> None:
        """Start Keycloak (a no-op if it runs); on a data dir's first start it imports the realm."""
        self.keycloak.start()

    def stop_identity(self) -> None:
        """Stop Keycloak: the services keep the keys they hold; new sign-ins fail until start_identity()."""
        self.keycloak.stop()

    @property
    def identity(self) -> IdentityClient:
        """The client of this stack's Keycloak (tokens for the tests and the demo)."""
        return IdentityClient.for_data_dir(self.keycloak.data_dir.parent)

    def client(self, role=CARE_TEAM, **kwargs) -> httpx.Client:
        """An HTTP client whose every request carries a current token from this deployment's Keycloak
        for ``role`` (default: the whole care team); ``tenant``, ``programs``, ``subject`` as in api_client."""
        return api_client.client(role, data_dir=self.keycloak.data_dir.parent, **kwargs)

    def auth_headers(self, role=CARE_TEAM, **kwargs) -> dict[str, str]:
        return api_client.auth_headers(role, data_dir=self.keycloak.data_dir.parent, **kwargs)

    def start_platform(self, on_step=lambda step: None) -> None:
        """Everything but Kafka: Keycloak, Prefect, the flow server, PostgreSQL when chosen, the services."""
        try:
            if not self.keycloak.running:
                on_step(f"Keycloak (identity provider, {self.keycloak.url})")
                self.start_identity()
            if not self.shares_platform:
                self.identity.allow_dashboard_at(self.dashboard_url)
                on_step("Prefect server")
                self.prefect.start()
                on_step("flow server (workflows)")
                self.procs["workflows"] = start_flow_server(self.prefect, self.data_dir / "logs" / "workflows.log",
                                                            self.service_env())
            if self.postgres:
                on_step("PostgreSQL")
                self.postgres.start(CONSUMERS)
            for s in CONSUMERS:
                on_step(f"{s} service")
                self.start_service(s)
            for s in CONSUMERS:
                self.wait_service(s)
        except BaseException:
            self.stop()
            raise

    def start_service(self, service: str, worker: int = 1) -> str:
        """Start a service's process; worker 2, 3 … join the same consumer group and share its
        database, each with an HTTP port of its own. Returns the process's name."""
        name = service if worker == 1 else f"{service}-{worker}"
        env = {**self.service_env(), **self.kafka_env(service)}
        if worker > 1:
            self.config.service_ports.setdefault(name, free_port())
            env[f"CONTINUUM_{service.upper()}_HTTP_PORT"] = str(self.config.service_ports[name])
        self.procs[name] = start([sys.executable, "-m", f"services.{service}"],
                                 self.data_dir / "logs" / f"{name}.log", env, cwd=ROOT)
        return name

    def wait_service(self, name: str, timeout_s: float = 90) -> None:
        wait_until(lambda: httpx.get(f"{self.url(name)}/health", timeout=2).status_code == 200,
                   timeout_s, f"{name} service", self.procs[name], self.data_dir / "logs" / f"{name}.log")

    def stop_service(self, service: str) -> None:
        stop(self.procs.pop(service, None))

    def stop(self) -> None:
        names = [n for n in self.procs if n != "workflows"][::-1] + [n for n in self.procs if n == "workflows"]
        for name in names:  # all at once: each drains its outbox and leaves its group
            signal_stop(self.procs[name])
        for name in names:
            stop(self.procs.pop(name))
        if self.postgres:
            self.postgres.stop()
        if not self.shares_platform:
            self.prefect.stop()
        if self.owns_identity:
            self.keycloak.stop()
        if self.kafka:
            self.kafka.stop()
