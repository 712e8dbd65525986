"""Participant reads while the system works: a thread that reads one participant at a time
from every service (intake's record, planning's plan, scheduling's sessions, aftercare's
follow-ups), round-robin over the participants it is given, and keeps each read's latency.
The service-level objective it measures: a read of one participant answers within 200 ms at
p99 while a cohort runs. Used by the end-to-end tests (printed at the end of the run) and by
``python -m bench e2e``."""

import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from deploy.api_client import Urls

READS = {"intake": "{intake}/participants/{pid}", "planning": "{planning}/participants/{pid}/plan",
         "scheduling": "{scheduling}/participants/{pid}/sessions",
         "aftercare": "{aftercare}/participants/{pid}/aftercare"}
SLO_P99_MS = 200.0


def percentile(values: list[float], p: float) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


@dataclass
class ReadProbe:
    urls: Urls
    headers: dict[str, str]
    participants: Callable[[], list[str]]
    every_s: float = 0.1
    timeout_s: float = 30.0
    latencies_ms: dict[str, list[float]] = field(default_factory=lambda: {s: [] for s in READS})
    failures: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> "ReadProbe":
        self._thread = threading.Thread(target=self._run, name="read-probe", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(self.timeout_s + 5)

    def _run(self) -> None:
        urls = {"intake": self.urls.intake, "planning": self.urls.planning, "scheduling": self.urls.scheduling,
                "aftercare": self.urls.aftercare}
        n = 0
        with httpx.Client(headers=self.headers, timeout=self.timeout_s) as http:
            while not self._stop.is_set():
                pids = self.participants()
                if pids:
                    pid, n = pids[n % len(pids)], n + 1
                    for service, template in READS.items():
                        asked = time.perf_counter()
                        try:
                            status = http.get(template.format(pid=pid, **urls)).status_code
                        except httpx.HTTPError as exc:
                            self.failures.append(f"{service}: {type(exc).__name__}")
                            continue
                        if status not in (200, 404):  # 404: not there yet (this service has not heard of them)
                            self.failures.append(f"{service}: HTTP {status}")
                            continue
                        self.latencies_ms[service].append(1000 * (time.perf_counter() - asked))
                self._stop.wait(self.every_s)

    def summary(self) -> dict:
        every = [x for xs in self.latencies_ms.values() for x in xs]
        return {"reads": len(every), "failures": len(self.failures), "slo_p99_ms": SLO_P99_MS,
                "p50_ms": round(percentile(every, 50), 1), "p99_ms": round(percentile(every, 99), 1),
                "max_ms": round(max(every), 1) if every else None,
                "p99_ms_by_service": {s: round(percentile(xs, 99), 1) for s, xs in self.latencies_ms.items() if xs}}

    def line(self) -> str:
        s = self.summary()
        return (f"participant reads during the demo cohort: {s['reads']} reads, p50 {s['p50_ms']} ms, "
                f"p99 {s['p99_ms']} ms (objective {SLO_P99_MS:.0f} ms), max {s['max_ms']} ms, "
                f"{s['failures']} failed; p99 by service {s['p99_ms_by_service']}")
