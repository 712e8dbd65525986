"""The whole system as a user starts it: Kafka (unless KAFKA_BOOTSTRAP_SERVERS names a
cluster), the topics, the Prefect server, the flow server, the four services and the
operations read model with its dashboard, each a real process with its log under
<data dir>/logs; the services' stores are SQLite files, or databases on a PostgreSQL server
it starts (``database="postgresql"``). Used by ``make run`` and the tests."""

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import httpx

from services.contracts.base import SERVICES
from services.contracts.topics import CONSUMERS
from services.eventing.settings import DEFAULT_PORTS, ContinuumSettings, KafkaSettings
from services.eventing.topic_admin import create_topics

from .api_client import Urls
from .kafka_runner import KafkaBroker
from .postgres_runner import PostgresServer
from .prefect_runner import ROOT, PrefectServer, start_flow_server
from .processes import free_port, signal_stop, start, stop, wait_until


@dataclass
class StackConfig:
    data_dir: Path = Path("data")
    kafka_port: int = 19092
    kafka_controller_port: int | None = None  # None: 19093 beside the default port, else a free one
    prefect_port: int = 4200
    service_ports: dict[str, int] = field(default_factory=lambda: {
        "intake": 8101, "planning": 8102, "scheduling": 8103, "aftercare": 8104, "operations": 8105})
    topic_prefix: str = ""
    prefect_ui: bool = True
    extra_env: dict[str, str] = field(default_factory=dict)
    database: Literal["sqlite", "postgresql"] = "sqlite"  # postgresql: one server, a database per service

    def __post_init__(self) -> None:
        for service, port in DEFAULT_PORTS.items():  # a service left out keeps its default port
            self.service_ports.setdefault(service, port)

    @classmethod
    def from_env(cls) -> "StackConfig":
        cfg = cls(data_dir=Path(os.environ.get("CONTINUUM_DATA_DIR", "data")).resolve(),
                  kafka_port=int(os.environ.get("CONTINUUM_KAFKA_PORT", 19092)),
                  prefect_port=int(os.environ.get("CONTINUUM_PREFECT_PORT", 4200)),
                  topic_prefix=os.environ.get("CONTINUUM_TOPIC_PREFIX", ""),
                  database=os.environ.get("CONTINUUM_DATABASE", "sqlite"))
        for s in CONSUMERS:
            if port := os.environ.get(f"CONTINUUM_{s.upper()}_HTTP_PORT"):
                cfg.service_ports[s] = int(port)
        return cfg


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
        self.kafka = None if self.external_kafka else KafkaBroker(self.data_dir / "kafka", config.kafka_port,
                                                                     config.kafka_controller_port)
        self.prefect = beside.prefect if beside else PrefectServer(self.data_dir / "prefect", config.prefect_port,
                                                                   ui=config.prefect_ui)
        self.postgres = PostgresServer(self.data_dir) if config.database == "postgresql" else None
        self.procs: dict[str, subprocess.Popen] = {}

    @property
    def bootstrap(self) -> str:
        return self.external_kafka or self.kafka.bootstrap

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

    def service_env(self) -> dict[str, str]:
        env = {
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

    def start_kafka(self) -> None:
        if self.kafka:
            self.kafka.start()
        create_topics(KafkaSettings(bootstrap_servers=self.bootstrap),
                      ContinuumSettings(topic_prefix=self.config.topic_prefix))

    def start(self, on_step=lambda step: None) -> None:
        on_step(f"Kafka ({'existing cluster ' + self.bootstrap if self.external_kafka else 'starting broker'})")
        try:
            self.start_kafka()
        except BaseException:
            self.stop()
            raise
        self.start_platform(on_step)

    def start_platform(self, on_step=lambda step: None) -> None:
        """Everything but Kafka: Prefect, the flow server, PostgreSQL when chosen, the services."""
        try:
            if not self.shares_platform:
                on_step("Prefect server")
                self.prefect.start()
                on_step("flow server (workflows)")
                self.procs["workflows"] = start_flow_server(self.prefect, self.data_dir / "logs" / "workflows.log")
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
        env = self.service_env()
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
        if self.kafka:
            self.kafka.stop()
