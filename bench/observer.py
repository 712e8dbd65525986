"""Watches every events topic as a plain subscriber would, timing each participant's
path: when its AssessmentCompleted was created and when its SessionsScheduled arrived."""

import asyncio
import json
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from aiokafka import AIOKafkaConsumer


@dataclass
class Observation:
    events: int = 0
    bytes: int = 0
    by_type: Counter = field(default_factory=Counter)
    assessed_at: dict[str, float] = field(default_factory=dict)      # participant -> epoch s (event time)
    scheduled_seen: dict[str, float] = field(default_factory=dict)   # participant -> epoch s (received)
    per_second: Counter = field(default_factory=Counter)             # second since start -> events
    latency_points: list[tuple[float, float]] = field(default_factory=list)  # (t since start, latency s)
    counts_by_participant: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))


class EventObserver:
    def __init__(self, bootstrap: str, topics: list[str], started: float):
        self.consumer = AIOKafkaConsumer(*topics, bootstrap_servers=bootstrap, group_id=None,
                                         auto_offset_reset="earliest", enable_auto_commit=False)
        self.started = started
        self.obs = Observation()
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        await self.consumer.start()
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        async for msg in self.consumer:
            now = time.time()
            headers = dict(msg.headers or ())
            ce_type = headers.get("ce_type", b"").decode()
            o = self.obs
            o.events += 1
            o.bytes += len(msg.value or b"")
            o.by_type[ce_type.split(".")[-2] if ce_type else "?"] += 1
            o.per_second[int(now - self.started)] += 1
            pid = (msg.key or b"").decode()
            o.counts_by_participant[pid][ce_type] += 1
            if ce_type.endswith("assessment_completed.v1"):
                o.assessed_at.setdefault(pid, datetime.fromisoformat(json.loads(msg.value)["time"]).timestamp())
            elif ce_type.endswith("sessions_scheduled.v1") and pid not in o.scheduled_seen:
                o.scheduled_seen[pid] = now
                if pid in o.assessed_at:
                    o.latency_points.append((now - self.started, now - o.assessed_at[pid]))

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.consumer.stop()
