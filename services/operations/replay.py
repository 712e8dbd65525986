"""Rebuilds the read model from scratch: reads every topic operations consumes from the
beginning up to the current end, through the same idempotent consumer and projections,
into the given (fresh) store. Events topics keep their history forever, so this is the
whole read model; dead letters are kept 30 days.

    python -m services.operations.replay --database-url sqlite+aiosqlite:///data/operations-rebuilt.db

To swap it in: stop operations, replay into a new file, move it over operations.db, start
operations (its group goes on from its committed offsets; what the replay already holds is
recognised as a duplicate by the processed-event record)."""

import argparse
import asyncio

from kafka import KafkaConsumer, TopicPartition

from services.contracts.topics import DEAD_LETTER_SUBSCRIPTIONS, consumed_topics, dead_letter_topic
from services.eventing.consumer import EventConsumer, IncomingMessage
from services.eventing.database import Database
from services.eventing.kafka_connection import kafka_python_options
from services.eventing.settings import ContinuumSettings, KafkaSettings

from .handlers import HANDLERS, record_dead_letter
from .tables import OperationsBase


def _read_all(kafka: KafkaSettings, topics: list[str]) -> list[IncomingMessage]:
    consumer = KafkaConsumer(**kafka_python_options(kafka), enable_auto_commit=False, group_id=None)
    try:
        parts = [TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or ())]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        end = consumer.end_offsets(parts)
        out: list[IncomingMessage] = []
        while any(consumer.position(tp) < end[tp] for tp in parts):
            for msgs in consumer.poll(timeout_ms=500).values():
                out += [IncomingMessage(m.topic, m.partition, m.offset, m.key, m.value, tuple(m.headers or ()))
                        for m in msgs if m.offset < end[TopicPartition(m.topic, m.partition)]]
        return out
    finally:
        consumer.close()


async def replay(db: Database, kafka: KafkaSettings, topic_prefix: str = "") -> int:
    """Returns how many messages were replayed."""
    await db.create_all()
    messages = await asyncio.to_thread(_read_all, kafka, consumed_topics("operations", topic_prefix))
    dead_letter_topics = {dead_letter_topic(c, topic_prefix) for c in DEAD_LETTER_SUBSCRIPTIONS["operations"]}
    consumer = EventConsumer("operations", db, HANDLERS, topic_prefix=topic_prefix)
    for msg in messages:
        if msg.topic in dead_letter_topics:
            await record_dead_letter(db, msg)
        else:
            await consumer.handle(msg)
    return len(messages)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", required=True)
    args = parser.parse_args()
    db = Database(args.database_url, OperationsBase.metadata)

    async def run() -> int:
        try:
            return await replay(db, KafkaSettings(), ContinuumSettings().topic_prefix)
        finally:
            await db.dispose()

    print(f"replayed {asyncio.run(run())} messages into {args.database_url}")


if __name__ == "__main__":
    main()
