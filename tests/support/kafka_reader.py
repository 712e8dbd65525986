"""A plain Kafka consumer for tests (kafka-python): what an integration team's
subscriber sees, read from the beginning of a topic without joining a group."""

import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from kafka import KafkaConsumer, TopicPartition


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: dict[str, bytes]

    @property
    def event(self) -> dict:
        return json.loads(self.value)


class TopicReader:
    def __init__(self, bootstrap: str, *topics: str, options: dict | None = None):
        """``options``: further KafkaConsumer arguments, e.g. a secured cluster's (kafka_python_options)."""
        self.consumer = KafkaConsumer(**{"bootstrap_servers": bootstrap, **(options or {})}, enable_auto_commit=False,
                                      group_id=None, consumer_timeout_ms=200)
        parts = [TopicPartition(t, p) for t in topics for p in sorted(self.consumer.partitions_for_topic(t) or ())]
        self.consumer.assign(parts)
        self.consumer.seek_to_beginning(*parts)
        self.records: list[Record] = []

    def poll(self) -> list[Record]:
        batch = self.consumer.poll(timeout_ms=300)
        new = [Record(m.topic, m.partition, m.offset, m.key, m.value, dict(m.headers or []))
               for msgs in batch.values() for m in msgs]
        self.records.extend(new)
        return new

    def wait_for(self, predicate: Callable[[list[Record]], bool], timeout_s: float, what: str) -> list[Record]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.poll()
            if predicate(self.records):
                return self.records
        raise AssertionError(f"timed out after {timeout_s}s waiting for {what}; "
                             f"saw {[r.headers.get('ce_type') for r in self.records][-30:]}")

    def events(self, participant_id: str | None = None, ce_type_suffix: str = "v1") -> list[dict]:
        """Events of one participant whose type ends with ``.<suffix>`` (e.g. 'plan_created.v1')."""
        return [r.event for r in self.records
                if r.headers.get("ce_type", b"").decode().endswith("." + ce_type_suffix)
                and (participant_id is None or r.key == participant_id.encode())]

    def close(self) -> None:
        self.consumer.close()
