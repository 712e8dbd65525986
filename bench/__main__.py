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
def faults(participants: int = typer.Option(1000, help="participants per scenario")) -> None:
    """The fault suite on a fresh stack: each scenario prints tried / completed / lost / duplicated."""
    import shutil

    from deploy.processes import free_port
    from deploy.stack import Stack, StackConfig
    from services.contracts.topics import CONSUMERS

    from .faults import kill_workers, poison, replay_everything, restart_broker, two_workers_one_killed

    data_dir = Path("data/faults").resolve()
    shutil.rmtree(data_dir, ignore_errors=True)
    stack = Stack(StackConfig(data_dir=data_dir, kafka_port=free_port(), prefect_port=free_port(),
                              service_ports={s: free_port() for s in CONSUMERS}, prefect_ui=False))
    stack.start()
    try:
        timeout = max(300.0, participants * 1.0)
        for n, run in enumerate((kill_workers, restart_broker, poison, two_workers_one_killed)):
            print(run(stack, participants, start_index=n * participants, timeout_s=timeout).line(), flush=True)
        print(replay_everything(stack, timeout_s=timeout).line(), flush=True)
    finally:
        stack.stop()


if __name__ == "__main__":
    cli()
