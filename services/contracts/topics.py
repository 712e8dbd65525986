"""The topic registry: one events topic per producing service, keyed by participant id,
and one dead-letter topic per consuming service. Declared here, created by
``services.eventing.topic_admin``. The operations service only consumes: it reads every
events topic and every dead-letter topic, and publishes nothing but its own dead letters.
"""

from dataclasses import dataclass, field

from .base import SERVICES

RETAIN_FOREVER = "-1"
THIRTY_DAYS_MS = str(30 * 24 * 3600 * 1000)

# Every service that consumes events (and so has a dead-letter topic): the producers
# plus the consumer-only operations read model.
CONSUMERS: tuple[str, ...] = (*SERVICES, "operations")

# Which producers' topics each service consumes.
SUBSCRIPTIONS: dict[str, tuple[str, ...]] = {
    "intake": ("aftercare",),
    "planning": ("intake", "scheduling"),
    "scheduling": ("planning", "aftercare"),
    "aftercare": ("planning",),
    "operations": SERVICES,
}

# Whose dead-letter topics a service reads (raw bytes with dlq_* headers, not CloudEvents).
DEAD_LETTER_SUBSCRIPTIONS: dict[str, tuple[str, ...]] = {
    "operations": CONSUMERS,
}


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    config: dict[str, str] = field(default_factory=dict)
    description: str = ""


def events_topic(service: str, prefix: str = "") -> str:
    return f"{prefix}continuum.{service}.events"


def dead_letter_topic(consumer: str, prefix: str = "") -> str:
    return f"{prefix}continuum.{consumer}.dead-letter"


def consumed_topics(service: str, prefix: str = "") -> list[str]:
    """Every topic a service's consumer group reads."""
    return ([events_topic(p, prefix) for p in SUBSCRIPTIONS[service]]
            + [dead_letter_topic(c, prefix) for c in DEAD_LETTER_SUBSCRIPTIONS.get(service, ())])


def declared_topics(prefix: str = "", partitions: int = 6) -> list[TopicSpec]:
    """Every topic the system needs. Event topics keep their history (replayable);
    dead letters keep 30 days."""
    specs = [
        TopicSpec(
            events_topic(s, prefix),
            partitions,
            {"retention.ms": RETAIN_FOREVER, "cleanup.policy": "delete"},
            f"Events produced by {s}, keyed by participant id",
        )
        for s in SERVICES
    ]
    specs += [
        TopicSpec(
            dead_letter_topic(s, prefix),
            1,
            {"retention.ms": THIRTY_DAYS_MS, "cleanup.policy": "delete"},
            f"Messages {s} could not handle: original bytes and headers, plus the reason",
        )
        for s in CONSUMERS
    ]
    return specs
