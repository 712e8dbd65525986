"""``python -m bench e2e --participants N``: the end-to-end benchmark (``make bench``)."""

import asyncio
from pathlib import Path

import typer

from .end_to_end import BenchConfig, run_benchmark, write_results
from .report import print_summary

cli = typer.Typer(add_completion=False, help=__doc__)


@cli.command()
def e2e(participants: int = typer.Option(10_000, help="synthetic participants"),
        aftercare_share: float = typer.Option(0.02, help="share taken on through aftercare"),
        concurrency: int = typer.Option(16, help="concurrent API clients"),
        out: Path = typer.Option(Path("data/bench"), help="where the JSON and PNG go"),
        profile: bool = typer.Option(False, help="sample every service process with py-spy; "
                                                  "collapsed stacks and top frames under --out")) -> None:
    cfg = BenchConfig(participants, aftercare_share, concurrency, out_dir=out, profile=profile)
    result = asyncio.run(run_benchmark(cfg))
    print_summary(result)
    json_path, png_path = write_results(result, out)
    print(f"wrote {json_path} and {png_path}")


@cli.command()
def faults(participants: int = typer.Option(1000, help="participants per scenario"),
           scenario: str = typer.Option("all", help="all, or one or more (comma-separated) of kill, broker, "
                                                    "poison, two-workers, replay, postgresql, kill-a-broker")
           ) -> None:
    """The fault suite on fresh stacks: each scenario prints tried / completed / lost / duplicated.
    The PostgreSQL scenario runs on services whose stores are on PostgreSQL (beside the SQLite
    stack, on its broker and Prefect server, when it runs with the others); kill-a-broker runs on
    a three-broker cluster of its own."""
    import shutil

    from deploy.processes import free_port
    from deploy.stack import Stack, StackConfig
    from services.contracts.topics import CONSUMERS

    from .faults import SCENARIOS, kill_a_broker, replay_everything, two_workers_on_postgresql

    names = [*SCENARIOS, "replay"] if scenario == "all" else [n.strip() for n in scenario.split(",")]
    if unknown := set(names) - {*SCENARIOS, "replay"}:
        raise typer.BadParameter(f"unknown scenario {', '.join(unknown)}", param_hint="--scenario")
    # the replay last: it replays what the others did
    on_sqlite = sorted((n for n in names if n not in ("postgresql", "kill-a-broker")), key=lambda n: n == "replay")
    data_dir = Path("data/faults").resolve()
    shutil.rmtree(data_dir, ignore_errors=True)

    def config(sub: str, database: str = "sqlite", prefix: str = "", brokers: int = 1) -> StackConfig:
        return StackConfig(data_dir=data_dir / sub, kafka_port=free_port(), prefect_port=free_port(),
                           keycloak_port=free_port(),
                           service_ports={s: free_port() for s in CONSUMERS}, prefect_ui=False,
                           topic_prefix=prefix, database=database, kafka_brokers=brokers)

    timeout = max(300.0, participants * 1.0)
    if on_sqlite or "postgresql" in names:
        stack = Stack(config("sqlite") if on_sqlite else config("postgresql", "postgresql"))
        stack.start()
        try:
            for n, name in enumerate(on_sqlite):
                run = SCENARIOS.get(name)
                result = run(stack, participants, start_index=n * participants, timeout_s=timeout) if run \
                    else replay_everything(stack, timeout_s=timeout)
                print(result.line(), flush=True)
            if "postgresql" in names:
                pg = Stack(config("postgresql", "postgresql", "pg."), beside=stack) if on_sqlite else stack
                if pg is not stack:
                    pg.start()
                try:
                    print(two_workers_on_postgresql(pg, participants, start_index=len(on_sqlite) * participants,
                                                    timeout_s=timeout).line(), flush=True)
                finally:
                    if pg is not stack:
                        pg.stop()
        finally:
            stack.stop()
    if "kill-a-broker" in names:
        cluster = Stack(config("cluster", brokers=3))
        cluster.start()
        try:
            print(kill_a_broker(cluster, participants, start_index=0, timeout_s=timeout).line(), flush=True)
        finally:
            cluster.stop()

if __name__ == "__main__":
    cli()
