"""The event loop's lag: how late the loop runs a timer. Everything a service does (HTTP, the
consumer, the relay) shares one loop, so a lag here is a delay on every request; ``/health``
reports it and ``/metrics`` exports the last minute's worst."""

import asyncio
import time

from .metrics import EVENT_LOOP_LAG


class LoopLagMonitor:
    def __init__(self, interval_s: float = 0.1, window_s: float = 60.0):
        self.interval_s, self.window_s = interval_s, window_s
        self.last_s = 0.0
        self._worst_s, self._since = 0.0, time.monotonic()

    async def run(self) -> None:
        while True:
            asked = time.monotonic()
            await asyncio.sleep(self.interval_s)
            self.observe(max(0.0, time.monotonic() - asked - self.interval_s))

    def observe(self, lag_s: float) -> None:
        now = time.monotonic()
        if now - self._since > self.window_s:
            self._worst_s, self._since = 0.0, now
        self.last_s, self._worst_s = lag_s, max(self._worst_s, lag_s)
        EVENT_LOOP_LAG.set(self._worst_s)

    @property
    def worst_s(self) -> float:
        return self._worst_s

    def report(self) -> dict:
        return {"last_ms": round(self.last_s * 1000, 1), "worst_last_minute_ms": round(self._worst_s * 1000, 1)}
