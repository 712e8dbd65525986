"""The raw Kafka baseline on the same broker: produce and consume the same number of
messages of the same size with aiokafka (idempotent, acks=all, like the relay)."""

import asyncio
import os
import time
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic


async def raw_kafka_baseline(bootstrap: str, messages: int, size: int, partitions: int = 6) -> dict:
    topic = f"bench-baseline-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)])
    admin.close()
    payload = os.urandom(max(size // 2, 1)).hex().encode()[:size]
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5)
    await producer.start()
    started = time.perf_counter()
    try:
        futures = [await producer.send(topic, payload, key=str(i % 997).encode()) for i in range(messages)]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    produced_s = time.perf_counter() - started
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest")
    await consumer.start()
    started = time.perf_counter()
    seen = 0
    try:
        while seen < messages:
            batch = await consumer.getmany(timeout_ms=1000, max_records=5000)
            seen += sum(len(v) for v in batch.values())
    finally:
        await consumer.stop()
    consumed_s = time.perf_counter() - started
    return {"messages": messages, "message_bytes": size, "produce_per_s": round(messages / produced_s),
            "consume_per_s": round(messages / consumed_s),
            "produce_and_consume_per_s": round(messages / (produced_s + consumed_s))}
