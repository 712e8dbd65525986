"""The end-to-end benchmark: N synthetic participants from intake through planning and
scheduling (a share on through aftercare) on the whole stack with durable stores, timed
by a plain subscriber, next to the raw Kafka baseline measured on the same broker."""

import asyncio
import json
import os
import platform
import shutil
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

from deploy import api_client as api
from deploy.demo_cohort import IMPROVED_PHQ9, assessment, reassessment, referral
from deploy.processes import free_port
from deploy.stack import Stack, StackConfig
from services.contracts.base import SERVICES
from services.contracts.topics import CONSUMERS, events_topic

from .kafka_baseline import raw_kafka_baseline
from .observer import EventObserver
from .process_memory import cpu_seconds, peak_rss_mib
from .profiling import start_profiling, stop_profiling, summarise
from .read_probe import ReadProbe
from .report import draw_png


@dataclass
class BenchConfig:
    participants: int = 10_000
    aftercare_share: float = 0.02
    concurrency: int = 16
    timeout_s: float = 1800
    out_dir: Path = Path("data/bench")
    profile: bool = False


def _percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    return round(statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1], 3) if len(values) > 1 \
        else round(values[0], 3)


def _admit(urls: api.Urls, index: int, http: httpx.Client) -> tuple[str, bool]:
    pid = api.refer(http, urls, referral(index))["participant_id"]
    outcome = api.assess(http, urls, pid, assessment(index))
    return pid, bool(outcome["admitted_to_iop"])


def _to_aftercare(urls: api.Urls, pid: str, index: int, http: httpx.Client) -> bool:
    """Attend sessions and re-assess showing response, as the demo does, so planning declares
    ReadyForStepDown; False when too few sessions could be placed this week."""
    booked = api.sessions(http, urls, pid)
    if not booked or len(booked["sessions"]) < 3:
        return False
    for s in booked["sessions"][:3]:
        api.attend(http, urls, s["session_id"])
    api.assess(http, urls, pid, reassessment(index, phq9=IMPROVED_PHQ9))
    return True


async def run_benchmark(cfg: BenchConfig) -> dict:
    data_dir = (cfg.out_dir / "stack").resolve()
    shutil.rmtree(data_dir, ignore_errors=True)
    stack = Stack(StackConfig(data_dir=data_dir, kafka_port=free_port(), prefect_port=free_port(),
                              keycloak_port=free_port(), service_ports={s: free_port() for s in CONSUMERS},
                              prefect_ui=False,
                              extra_env={"CONTINUUM_LOG_LEVEL": "WARNING"}))
    print(f"starting the stack in {data_dir} …", flush=True)
    stack.start()
    profilers = start_profiling(
        {"bench-driver": os.getpid()} | {n: p.pid for n, p in stack.procs.items()}, cfg.out_dir) if cfg.profile else []
    try:
        return await _measure(cfg, stack)
    finally:
        stop_profiling(profilers)
        stack.stop()
        for p in profilers:
            print(summarise(p.path), flush=True)


async def _measure(cfg: BenchConfig, stack: Stack) -> dict:
    urls = stack.urls()
    pids = {name: proc.pid for name, proc in stack.procs.items()} | {"bench-driver": os.getpid()}
    cpu_before = {name: cpu_seconds(pid) or 0.0 for name, pid in pids.items()}
    started = time.time()
    observer = EventObserver(stack.bootstrap, [events_topic(s) for s in SERVICES], started)
    await observer.start()
    local = __import__("threading").local()

    def client() -> httpx.Client:
        if not hasattr(local, "http"):
            local.http = stack.client(timeout=60)
        return local.http

    loop = asyncio.get_running_loop()
    print(f"admitting {cfg.participants} participants through the intake API …", flush=True)
    def recent() -> list[str]:  # participants to read back while the run goes on (the latest scheduled)
        try:
            return list(observer.obs.scheduled_seen)[-200:]
        except RuntimeError:  # the observer added one meanwhile: next time
            return []

    probe = ReadProbe(urls, stack.auth_headers(), recent)
    with probe, ThreadPoolExecutor(cfg.concurrency) as pool:
        results = await asyncio.gather(*(loop.run_in_executor(pool, lambda i=i: _admit(urls, i, client()))
                                         for i in range(cfg.participants)))
        submitted = time.time()
        admitted = [pid for pid, ok in results if ok]
        index_of = {pid: i for i, (pid, _) in enumerate(results)}
        deadline = time.monotonic() + cfg.timeout_s
        while len(observer.obs.scheduled_seen.keys() & set(admitted)) < len(admitted):
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
        scheduled_done = time.time()
        wanted = int(len(admitted) * cfg.aftercare_share) if cfg.aftercare_share > 0 else 0
        chosen: list[str] = []
        for pid in admitted:  # those whose week holds the sessions the step-down criterion needs
            if len(chosen) >= wanted:
                break
            if await loop.run_in_executor(pool, lambda p=pid: _to_aftercare(urls, p, index_of[p], client())):
                chosen.append(pid)
    while chosen and sum(observer.obs.counts_by_participant[p]["continuum.aftercare.follow_up_scheduled.v1"] >= 4
                         for p in chosen) < len(chosen):
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    finished = time.time()
    await asyncio.sleep(1)
    await observer.stop()
    memory = {name: peak_rss_mib(proc.pid) for name, proc in stack.procs.items()}
    cpu = {name: round((cpu_seconds(pid) or 0.0) - cpu_before[name], 1) for name, pid in pids.items()}
    o = observer.obs
    latencies = [lat for _, lat in o.latency_points]
    reached = len(o.scheduled_seen.keys() & set(admitted))
    span = scheduled_done - started
    avg_size = o.bytes // max(o.events, 1)
    print(f"raw Kafka baseline: {o.events} messages of {avg_size} bytes …", flush=True)
    baseline = await raw_kafka_baseline(stack.bootstrap, max(o.events, 1000), avg_size)
    events_per_s = round(o.events / (finished - started), 1)
    duplicates = sum(1 for p in admitted if o.counts_by_participant[p]["continuum.planning.plan_created.v1"] > 1)
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.node()} {os.cpu_count()} cores, {platform.machine()}, "
                   f"Python {platform.python_version()}",
        "participants": cfg.participants, "admitted": len(admitted), "reached_sessions_scheduled": reached,
        "to_aftercare": len(chosen),
        "reached_aftercare": sum(o.counts_by_participant[p]["continuum.aftercare.follow_up_scheduled.v1"] >= 4
                                 for p in chosen),
        "duplicate_plans": duplicates,
        "participant_reads_during_run": probe.summary(),
        "admission_s": round(submitted - started, 1),
        "intake_to_scheduled_s": round(span, 1),
        "participants_per_s": round(reached / span, 1) if span > 0 else None,
        "events": o.events, "events_per_s": events_per_s, "event_types": dict(o.by_type),
        "latency_assessment_to_sessions_scheduled_s": {
            "p50": _percentile(latencies, 50), "p95": _percentile(latencies, 95), "p99": _percentile(latencies, 99),
            "max": round(max(latencies), 3) if latencies else None},
        "peak_rss_mib": memory,
        "cpu_s": cpu,
        "kafka_baseline": baseline,
        "system_vs_baseline": round(events_per_s / baseline["produce_and_consume_per_s"], 4),
        "series": {"events_per_second": sorted(o.per_second.items()), "latency": o.latency_points},
    }


def write_results(result: dict, out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = result["when"].replace(":", "").replace("-", "")
    json_path = out_dir / f"end_to_end-{stamp}.json"
    json_path.write_text(json.dumps(result, indent=2))
    png_path = out_dir / f"end_to_end-{stamp}.png"
    draw_png(result, png_path)
    return json_path, png_path
