"""Consumer lag: how far a consumer group's committed offsets are behind the end of the
topics it reads (kafka-python's admin client; call it from a thread)."""

import threading
from collections import defaultdict

from kafka import OffsetSpec, TopicPartition
from kafka.admin import KafkaAdminClient
from kafka.errors import KafkaError

from .kafka_connection import kafka_python_options
from .settings import KafkaSettings


def group_id(service: str, topic_prefix: str = "") -> str:
    """The consumer group of a service's faust app (build_faust_app names it so)."""
    return f"{topic_prefix}continuum-{service}"


def lag_by_topic(end: dict[TopicPartition, int], committed: dict[TopicPartition, int]) -> dict[str, int]:
    """Per topic, the sum over partitions of end offset minus committed offset (a partition
    with no commit yet lags by its whole length)."""
    out: dict[str, int] = defaultdict(int)
    for tp, last in end.items():
        out[tp.topic] += max(0, last - max(committed.get(tp, 0), 0))
    return dict(out)


class LagProbe:
    """One admin client, reused across scrapes (thread-safe by a lock)."""

    def __init__(self, kafka: KafkaSettings):
        self.kafka = kafka
        self._admin: KafkaAdminClient | None = None
        self._lock = threading.Lock()

    def _client(self) -> KafkaAdminClient:
        if self._admin is None:
            self._admin = KafkaAdminClient(**kafka_python_options(self.kafka),
                                           client_id="continuum-lag-probe", request_timeout_ms=5000)
        return self._admin

    def lag(self, groups: dict[str, list[str]]) -> dict[str, dict[str, int]]:
        """``{group: [topics]}`` -> ``{group: {topic: lag}}``; a group whose coordinator does
        not answer (yet) is left out rather than reported wrong."""
        with self._lock:
            admin = self._client()
            topics = sorted({t for ts in groups.values() for t in ts})
            parts = [TopicPartition(t["name"], p["partition_index"])
                     for t in admin.describe_topics(topics) for p in t["partitions"]]
            end = {tp: o.offset for tp, o in admin.list_partition_offsets(
                dict.fromkeys(parts, OffsetSpec.LATEST)).items()}
            out = {}
            for g, ts in groups.items():
                try:
                    committed = admin.list_group_offsets({g: None}).get(g, {})
                except KafkaError:
                    continue
                out[g] = lag_by_topic({tp: o for tp, o in end.items() if tp.topic in ts},
                                      {tp: m.offset for tp, m in committed.items()})
            return out

    def close(self) -> None:
        with self._lock:
            if self._admin is not None:
                self._admin.close()
                self._admin = None
