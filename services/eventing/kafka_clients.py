"""Kafka clients configured the way this system needs them: the idempotent producer
(``acks=all`` and idempotence set explicitly — aiokafka defaults to ``acks=1``
without it) and a fail-fast check that the cluster answers."""

import asyncio

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from .kafka_connection import aiokafka_options
from .settings import KafkaSettings


class KafkaUnreachable(RuntimeError):
    pass


def idempotent_producer(kafka: KafkaSettings, client_id: str) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        **aiokafka_options(kafka),
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        request_timeout_ms=30000,
    )


async def ensure_reachable(kafka: KafkaSettings) -> None:
    """Raise KafkaUnreachable naming the bootstrap address within the timeout."""
    admin = AIOKafkaAdminClient(
        **aiokafka_options(kafka), request_timeout_ms=int(kafka.connect_timeout_s * 1000)
    )
    try:
        await asyncio.wait_for(admin.start(), timeout=kafka.connect_timeout_s)
    except Exception as exc:  # noqa: BLE001 - every failure means the same to the operator
        raise KafkaUnreachable(
            f"Kafka is unreachable at {kafka.bootstrap_servers} "
            f"(waited {kafka.connect_timeout_s:.0f}s: {type(exc).__name__}). "
            "Start it with `make kafka` or set KAFKA_BOOTSTRAP_SERVERS."
        ) from None
    finally:
        try:
            await admin.close()
        except Exception:  # noqa: BLE001
            pass
