"""The event loop's lag: how late the loop runs a timer. Everything a service does (HTTP, the
consumer, the relay) shares one loop, so a lag here is a delay on every request; ``/health``
reports it and ``/metrics`` exports the last minute's worst."""

import asyncio
import time

from .metrics import EVENT_LOOP_LAG
from .worst_in_window import WorstInWindow


class LoopLagMonitor:
    def __init__(self, interval_s: float = 0.1, window_s: float = 60.0):
        self.interval_s = interval_s
        self.lag_s = WorstInWindow(window_s)

    async def run(self) -> None:
        while True:
            asked = time.monotonic()
            await asyncio.sleep(self.interval_s)
            self.lag_s.record(max(0.0, time.monotonic() - asked - self.interval_s))
            EVENT_LOOP_LAG.set(self.lag_s.worst)

    def report(self) -> dict:
        return {"last_ms": round(self.lag_s.last * 1000, 1), "worst_last_minute_ms": round(self.lag_s.worst * 1000, 1),
                "samples": self.lag_s.count}
