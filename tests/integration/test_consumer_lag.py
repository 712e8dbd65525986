"""Consumer lag against the real broker: committed offsets of a group vs end offsets."""

import time
import uuid

import pytest
from kafka import KafkaConsumer, KafkaProducer

from services.contracts.topics import consumed_topics, events_topic
from services.eventing.consumer_lag import LagProbe, group_id
from services.eventing.settings import ContinuumSettings, KafkaSettings
from services.eventing.topic_admin import create_topics

pytestmark = pytest.mark.integration


def test_lag_is_end_minus_committed_per_topic(kafka_stack):
    prefix = f"{kafka_stack.config.topic_prefix}lag{uuid.uuid4().hex[:6]}."
    kafka = KafkaSettings(bootstrap_servers=kafka_stack.bootstrap)
    create_topics(kafka, ContinuumSettings(topic_prefix=prefix))
    producer = KafkaProducer(bootstrap_servers=kafka_stack.bootstrap, acks="all")
    for i in range(5):
        producer.send(events_topic("intake", prefix), key=f"p-{i}".encode(), value=b"{}")
    producer.flush()
    producer.close()
    planning = group_id("planning", prefix)
    consumer = KafkaConsumer(events_topic("intake", prefix), bootstrap_servers=kafka_stack.bootstrap,
                             group_id=planning, auto_offset_reset="earliest", enable_auto_commit=False,
                             max_poll_records=2, session_timeout_ms=6000, heartbeat_interval_ms=1000)
    read = 0
    deadline = time.monotonic() + 30
    while read < 2 and time.monotonic() < deadline:
        read += sum(len(v) for v in consumer.poll(timeout_ms=500, max_records=2 - read).values())
    consumer.commit()
    consumer.close()
    probe = LagProbe(kafka)
    try:
        lag = probe.lag({planning: consumed_topics("planning", prefix)})
    finally:
        probe.close()
    assert read == 2
    assert lag[planning] == {events_topic("intake", prefix): 3, events_topic("scheduling", prefix): 0}
