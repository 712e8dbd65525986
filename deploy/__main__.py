"""``python -m deploy run``: the whole system with a demo cohort, until Ctrl-C.
``python -m deploy kafka [--brokers 3]``: only the broker (or a three-node cluster); ``--secure``:
SASL/SCRAM over TLS with ACLs. ``CONTINUUM_KAFKA_SECURE=1`` runs the whole system on the secured broker.
``python -m deploy keycloak``: only the identity provider (realm ``continuum``, demo users)."""

import signal
import time

import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table

from .demo_cohort import DemoCohort
from .kafka_runner import KafkaBroker
from .keycloak_runner import ADMIN_USERNAME
from .stack import Stack, StackConfig

cli = typer.Typer(add_completion=False, help=__doc__)
console = Console()


def _table(cohort: DemoCohort, stack: Stack, elapsed: float) -> Table:
    t = Table(title=f"Continuum demo cohort — {elapsed:.0f}s — Ctrl-C stops everything", expand=False)
    for col in ("#", "participant", "stage", "level", "hours/wk", "attended", "follow-ups", "notes"):
        t.add_column(col)
    for p in cohort.people:
        style = {"aftercare": "green", "referred out": "yellow"}.get(p.stage, "")
        t.add_row(str(p.index), p.participant_id, p.stage, p.level, f"{p.hours:g}", str(p.attended),
                  str(p.follow_ups), ", ".join(p.notes), style=style)
    t.caption = (f"Dashboard: {stack.dashboard_url}  ·  Prefect UI: http://127.0.0.1:{stack.config.prefect_port}  ·  "
                 f"APIs: " + "  ".join(f"{s} {stack.url(s)}/docs" for s in stack.config.service_ports)
                 + f"  ·  logs: {stack.data_dir / 'logs'}")
    return t


def _drive(stack: Stack, size: int) -> None:
    cohort = DemoCohort(stack.urls(), size, data_dir=stack.data_dir)
    started = time.monotonic()
    try:
        cohort.admit()
        with Live(_table(cohort, stack, 0), console=console, refresh_per_second=2) as live:
            while True:
                cohort.step()
                live.update(_table(cohort, stack, time.monotonic() - started))
                time.sleep(2 if not cohort.done() else 5)
    finally:
        cohort.close()


@cli.command()
def run(participants: int = typer.Option(20, help="size of the synthetic demo cohort")) -> None:
    """Start Kafka, Prefect, the flow server, the four services and operations; drive a demo cohort."""
    stack = Stack(StackConfig.from_env())
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        with console.status("starting") as status:
            stack.start(on_step=lambda s: status.update(f"starting {s}"))
        console.print(f"[green]up[/green]: Kafka {stack.bootstrap}, Prefect http://127.0.0.1:"
                      f"{stack.config.prefect_port}, data in {stack.data_dir}")
        console.print(f"Keycloak {stack.keycloak.url} (realm continuum; demo users and their passwords in "
                      f"{stack.keycloak.demo_users_file}; admin console {stack.keycloak.url}/admin, "
                      f"user {ADMIN_USERNAME}, password in {stack.keycloak.data_dir / 'admin-password'})")
        console.print(f"[bold]Operations dashboard: {stack.dashboard_url}[/bold] "
                      f"(JSON {stack.url('operations')}/api/figures, metrics on /metrics of every service)")
        _drive(stack, participants)
    except KeyboardInterrupt:
        console.print("stopping…")
    finally:
        stack.stop()
        console.print("stopped")


@cli.command()
def kafka(brokers: int = typer.Option(1, help="1: one broker; 3 or more: a KRaft cluster on loopback "
                                               "(replication factor 3, min.insync.replicas 2)"),
          secure: bool = typer.Option(False, help="SASL/SCRAM over TLS, one principal per service, ACLs; "
                                                  "creates the topics and ACLs for CONTINUUM_TOPIC_PREFIX")) -> None:
    """Run only Kafka (for pointing services at it by hand), until Ctrl-C."""
    cfg = StackConfig.from_env()
    cfg.kafka_brokers = brokers
    cfg.secure = cfg.secure or secure
    stack = Stack(cfg)
    broker = stack.kafka
    if broker is None:
        raise typer.BadParameter("KAFKA_BOOTSTRAP_SERVERS is set: there is no broker to start")
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        if isinstance(broker, KafkaBroker) and broker.security:  # a cluster is never secured
            stack.start_kafka()  # services on a secured broker create no topics: the admin does, with the ACLs
            console.print(f"Kafka up on {broker.bootstrap} (SASL_SSL, SCRAM-SHA-512); topics and ACLs created "
                          f"for prefix {cfg.topic_prefix!r}. A service connects with KAFKA_SECURITY_PROTOCOL=SASL_SSL "
                          f"KAFKA_SSL_CAFILE={broker.security.tls.ca} KAFKA_SASL_USERNAME=<service> "
                          f"KAFKA_SASL_PASSWORD=<its password in {broker.security.credentials_file}> "
                          "KAFKA_CREATE_TOPICS=false; Ctrl-C stops it")
        else:
            broker.start()
            console.print(f"Kafka up on {broker.bootstrap}; Ctrl-C stops it")
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        broker.stop()


@cli.command()
def keycloak() -> None:
    """Run only Keycloak (the realm continuum with the demo users), until Ctrl-C."""
    stack = Stack(StackConfig.from_env())
    server = stack.keycloak
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        with console.status(f"starting Keycloak on {server.url}"):
            stack.start_identity()
        console.print(f"Keycloak up on {server.url}: issuer {server.issuer}; demo users and their passwords in "
                      f"{server.demo_users_file}; admin console {server.url}/admin (user {ADMIN_USERNAME}, "
                      f"password in {server.data_dir / 'admin-password'}); Ctrl-C stops it")
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        stack.stop_identity()


if __name__ == "__main__":
    cli()
