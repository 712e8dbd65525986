"""Session fixtures: one real Kafka broker and (for end-to-end tests) one whole stack —
Prefect server, flow server, the four services, operations — started once per test session with
unique topic names, stopped at the end. KAFKA_BOOTSTRAP_SERVERS uses an existing cluster."""

import uuid

import pytest

from deploy.processes import free_port
from deploy.stack import Stack, StackConfig


@pytest.fixture(scope="session")
def stack_config(tmp_path_factory) -> StackConfig:
    return StackConfig(
        data_dir=tmp_path_factory.mktemp("continuum"),
        kafka_port=free_port(),
        prefect_port=free_port(),
        service_ports={s: free_port() for s in ("intake", "planning", "scheduling", "aftercare", "operations")},
        topic_prefix=f"t{uuid.uuid4().hex[:8]}.",
        prefect_ui=False,
        # a follow-up 'day' lasts 2 s so the day-7 check-in runs during the test
        extra_env={"CONTINUUM_AFTERCARE_DAY_LENGTH_SECONDS": "2", "CONTINUUM_LOG_LEVEL": "INFO"},
    )


@pytest.fixture(scope="session")
def kafka_stack(stack_config):
    """Kafka up and the declared topics created; nothing else yet."""
    stack = Stack(stack_config)
    stack.start_kafka()
    yield stack
    stack.stop()


@pytest.fixture(scope="session")
def stack(kafka_stack):
    """The whole system as `make run` starts it (without the demo cohort)."""
    kafka_stack.start_platform()
    yield kafka_stack


@pytest.fixture
def readers(kafka_stack):
    """Plain Kafka consumers over topics, closed after the test."""
    from tests.support.kafka_reader import TopicReader

    opened: list[TopicReader] = []

    def open_reader(*topics: str) -> TopicReader:
        opened.append(TopicReader(kafka_stack.bootstrap, *topics))
        return opened[-1]

    yield open_reader
    for r in opened:
        r.close()
