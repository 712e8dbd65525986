"""Session fixtures: one real Kafka broker, one real Keycloak (the identity provider: every token
a test sends comes from it) and (for end-to-end tests) one whole stack — Prefect server, flow
server, the four services, operations — started once per test session with unique topic names,
stopped at the end. KAFKA_BOOTSTRAP_SERVERS uses an existing cluster."""

import os
import uuid

import pytest

from deploy.identity_client import IdentityClient
from deploy.keycloak_runner import KeycloakServer
from deploy.processes import free_port

# The tests choose the development environment explicitly (the default is production): the services
# and apps they start in-process accept a loopback issuer over http and plain SMTP to a loopback server.
os.environ["CONTINUUM_ENVIRONMENT"] = "development"
from deploy.stack import Stack, StackConfig


@pytest.fixture(scope="session")
def stack_config(tmp_path_factory) -> StackConfig:
    return StackConfig(
        data_dir=tmp_path_factory.mktemp("continuum"),
        kafka_port=free_port(),
        kafka_controller_port=free_port(),  # not the default 19093: other sessions may run beside
        prefect_port=free_port(),
        keycloak_port=free_port(),
        service_ports={s: free_port() for s in ("intake", "planning", "scheduling", "aftercare", "operations")},
        topic_prefix=f"t{uuid.uuid4().hex[:8]}.",
        prefect_ui=False,
        # a follow-up 'day' lasts 2 s so the day-7 check-in runs during the test; the grace
        # window is 15 such days (30 s); reminders by email go to the `smtp_server` fixture
        extra_env={"CONTINUUM_AFTERCARE_DAY_LENGTH_SECONDS": "2", "CONTINUUM_LOG_LEVEL": "INFO",
                   "CONTINUUM_AFTERCARE_GRACE_DAYS": "15", "CONTINUUM_AFTERCARE_SMTP_HOST": "127.0.0.1",
                   "CONTINUUM_AFTERCARE_SMTP_PORT": str(free_port()),
                   # tokens' clock skew allowed: short, so an expired token's test waits seconds, not 30
                   "CONTINUUM_AUTH_LEEWAY_SECONDS": "5"},
    )


@pytest.fixture(scope="session")
def kafka_stack(stack_config):
    """Kafka up and the declared topics created; nothing else yet."""
    stack = Stack(stack_config)
    stack.start_kafka()
    yield stack
    stack.stop()


@pytest.fixture(scope="session")
def identity_server(stack_config) -> KeycloakServer:
    """Keycloak, started once per session (its realm imported on the first start) in the session's
    data dir, the one the stack uses; stopped at the end. A test may stop and start it again
    (``stack.stop_identity()``/``stack.start_identity()``): it keeps its realm, users and keys."""
    server = KeycloakServer(stack_config.data_dir / "identity", stack_config.keycloak_port)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def identity(identity_server) -> IdentityClient:
    """Tokens from the session's Keycloak: ``identity.token(roles, tenant, programs, subject=...,
    participant_id=...)``, ``identity.client_credentials(client_id, secret)``, ``identity.subject_of(token)``;
    ``identity.issuer``/``identity.audience``/``identity.auth_env()`` configure a verifier."""
    return IdentityClient.for_server(identity_server)


@pytest.fixture(scope="session")
def stack(kafka_stack, identity_server):
    """The whole system as `make run` starts it (without the demo cohort), on the session's Keycloak."""
    kafka_stack.use_identity(identity_server)
    kafka_stack.start_platform()
    return kafka_stack


@pytest.fixture(scope="session")
def smtp_server(stack_config):
    """A real local SMTP server (aiosmtpd) on the port aftercare sends reminders to;
    ``.messages`` holds what it received."""
    from aiosmtpd.controller import Controller

    from tests.support.smtp_collector import Collect

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
