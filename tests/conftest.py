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
        kafka_controller_port=free_port(),  # not the default 19093: other sessions may run beside
        prefect_port=free_port(),
        service_ports={s: free_port() for s in ("intake", "planning", "scheduling", "aftercare", "operations")},
        topic_prefix=f"t{uuid.uuid4().hex[:8]}.",
        prefect_ui=False,
        # a follow-up 'day' lasts 2 s so the day-7 check-in runs during the test; the grace
        # window is 15 such days (30 s); reminders by email go to the `smtp_server` fixture
        extra_env={"CONTINUUM_AFTERCARE_DAY_LENGTH_SECONDS": "2", "CONTINUUM_LOG_LEVEL": "INFO",
                   "CONTINUUM_AFTERCARE_GRACE_DAYS": "15", "CONTINUUM_AFTERCARE_SMTP_HOST": "127.0.0.1",
                   "CONTINUUM_AFTERCARE_SMTP_PORT": str(free_port())},
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


@pytest.fixture(scope="session")
def smtp_server(stack_config):
    """A real local SMTP server (aiosmtpd) on the port aftercare sends reminders to;
    ``.messages`` holds what it received."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    class Collect(Message):
        def __init__(self):
            super().__init__()
            self.messages = []

        def handle_message(self, message):
            self.messages.append(message)

    handler = Collect()
    controller = Controller(handler, hostname="127.0.0.1",
                            port=int(stack_config.extra_env["CONTINUUM_AFTERCARE_SMTP_PORT"]))
    controller.start()
    yield handler
    controller.stop()


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
