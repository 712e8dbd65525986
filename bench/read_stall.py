"""Reads while writers queue (issue 13's stall, reproduced on the store alone): one unit of
work holds the write transaction for ``hold_s`` seconds, as aftercare's consumer did while it
called Prefect inside its transaction; ``writers`` more units of work queue behind it (flow
runs' open/grace-check calls, the audit writer, the relay); a reader reads one row every
``read_every_s``. Prints the reads' latency. Runs on any commit's ``Database`` (the API it
uses, ``transaction()`` and ``sessions()``, has not changed), so before and after are
measured the same way: ``PYTHONPATH=<old tree> python bench/read_stall.py``.

``--dump`` writes a py-spy dump of this process taken in the middle of the stall."""

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

from services.eventing.database import Database, OutboxMessage


async def measure(hold_s: float, writers: int, read_every_s: float, dump: Path | None) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite+aiosqlite:///{tmp}/store.db")
        await db.create_all()
        held = asyncio.Event()

        async def slow_writer() -> None:  # a transaction that waits on a remote call
            async with db.transaction() as s:
                s.add(OutboxMessage(topic="t", event_type="x"))
                await s.flush()
                held.set()
                await asyncio.sleep(hold_s)

        async def queued_writer() -> None:
            async with db.transaction() as s:
                s.add(OutboxMessage(topic="t", event_type="y"))

        latencies: list[float] = []

        async def reader(until: float) -> None:
            while time.monotonic() < until:
                asked = time.monotonic()
                async with db.sessions() as s:
                    await s.scalar(select(OutboxMessage.id).limit(1))
                latencies.append(time.monotonic() - asked)
                await asyncio.sleep(read_every_s)

        slow = asyncio.create_task(slow_writer())
        await held.wait()
        queued = [asyncio.create_task(queued_writer()) for _ in range(writers)]
        await asyncio.sleep(0.2)
        if dump:
            asyncio.get_running_loop().call_later(hold_s / 2, lambda: subprocess.Popen(
                f"py-spy dump --pid {os.getpid()} > {dump} 2>&1", shell=True))
        await reader(time.monotonic() + hold_s)
        await asyncio.gather(slow, *queued)
        await db.dispose()
    latencies.sort()
    return {"reads": len(latencies), "p50_ms": 1000 * statistics.median(latencies),
            "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
            "max_ms": 1000 * latencies[-1]}


def main() -> None:
    hold_s, writers = float(os.environ.get("HOLD_S", 20)), int(os.environ.get("WRITERS", 20))
    dump = Path(sys.argv[sys.argv.index("--dump") + 1]) if "--dump" in sys.argv else None
    r = asyncio.run(measure(hold_s, writers, 0.1, dump))
    print(f"writer held {hold_s:.0f} s, {writers} writers queued: {r['reads']} reads, "
          f"p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, max {r['max_ms']:.1f} ms")


if __name__ == "__main__":
    main()
