"""Creates the declared topics (services.contracts.topics) with kafka-python's admin
client: partitions and configs from code, existing topics left alone."""

from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import TopicAlreadyExistsError

from services.contracts.topics import declared_topics

from .kafka_connection import kafka_python_options
from .settings import ContinuumSettings, KafkaSettings


def create_topics(kafka: KafkaSettings | None = None, settings: ContinuumSettings | None = None) -> list[str]:
    kafka = kafka or KafkaSettings()
    settings = settings or ContinuumSettings()
    specs = declared_topics(settings.topic_prefix, settings.topic_partitions)
    admin = KafkaAdminClient(**kafka_python_options(kafka), client_id="continuum-topic-admin")
    try:
        existing = set(admin.list_topics())
        replication = 1 if _single_broker(admin) else 3
        # replicated: an acks=all write needs two copies, so an acknowledged event survives losing a broker
        durability = {} if replication == 1 else {"min.insync.replicas": "2"}
        new = [
            NewTopic(s.name, num_partitions=s.partitions, replication_factor=replication,
                     topic_configs={**s.config, **durability})
            for s in specs if s.name not in existing
        ]
        if new:
            try:
                admin.create_topics(new, validate_only=False)
            except TopicAlreadyExistsError:
                pass  # another process won the race
        return [t.name for t in new]
    finally:
        admin.close()


def _single_broker(admin: KafkaAdminClient) -> bool:
    return len(admin.describe_cluster()["brokers"]) < 3
