"""The worst of a measurement over a sliding minute (the last window's maximum; it starts again
when the window is over): what ``/health`` shows for the event loop's lag and the store's write
waits."""

import time


class WorstInWindow:
    def __init__(self, window_s: float = 60.0):
        self.window_s = window_s
        self.last, self.count = 0.0, 0
        self._worst, self._since = 0.0, time.monotonic()

    def record(self, value: float) -> None:
        now = time.monotonic()
        if now - self._since > self.window_s:
            self._worst, self._since = 0.0, now
        self.last, self.count = value, self.count + 1
        self._worst = max(self._worst, value)

    @property
    def worst(self) -> float:
        return self._worst if time.monotonic() - self._since <= self.window_s else 0.0
