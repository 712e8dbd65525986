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
        out: Path = typer.Option(Path("data/bench"), help="where the JSON and PNG go")) -> None:
    cfg = BenchConfig(participants, aftercare_share, concurrency, out_dir=out)
    result = asyncio.run(run_benchmark(cfg))
    print_summary(result)
    json_path, png_path = write_results(result, out)
    print(f"wrote {json_path} and {png_path}")


@cli.command()
def noop() -> None:
    """(placeholder so typer keeps subcommands)"""


if __name__ == "__main__":
    cli()
