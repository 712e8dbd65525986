"""The secured broker (SASL/SCRAM-SHA-512 over TLS, ACLs from the topic registry): each
service's principal writes its own topics and reads what it consumes, nothing else; clients
without the right credentials or CA do not get in; a service process runs on it unchanged.
A broker of its own, on free ports, for this module."""

import asyncio
import json
import logging
import ssl
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError, TopicAuthorizationFailedError
from kafka import KafkaConsumer
from kafka.errors import GroupAuthorizationFailedError

from deploy import api_client as api
from deploy.demo_cohort import referral
from deploy.processes import free_port
from deploy.stack import Stack, StackConfig
from services.contracts.topics import CONSUMERS, dead_letter_topic, events_topic
from services.eventing.consumer_lag import group_id
from services.eventing.kafka_clients import idempotent_producer
from services.eventing.kafka_connection import aiokafka_options, kafka_python_options
from services.eventing.settings import KafkaSettings
from tests.support.kafka_reader import TopicReader
from tests.support.waiting import poll

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def secure_stack(tmp_path_factory, identity_server):
    config = StackConfig(
        data_dir=tmp_path_factory.mktemp("continuum-secure"), kafka_port=free_port(),
        kafka_controller_port=free_port(), prefect_port=free_port(),
        service_ports={s: free_port() for s in CONSUMERS}, topic_prefix=f"s{uuid.uuid4().hex[:8]}.",
        prefect_ui=False, secure=True)
    with pytest.MonkeyPatch.context() as env:
        env.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)  # always a secured broker of our own
        stack = Stack(config)
    stack.use_identity(identity_server)  # the session's Keycloak: its tokens are the ones the service accepts
    try:
        stack.start_kafka(timeout_s=300)  # a second broker beside the session's, on a busy machine
        yield stack
    finally:
        stack.stop()


def as_principal(stack: Stack, principal: str) -> KafkaSettings:
    return stack.kafka.security.client_settings(principal, stack.bootstrap)


def topic(stack: Stack, producer: str) -> str:
    return events_topic(producer, stack.config.topic_prefix)


async def consume_one(stack: Stack, principal: str, topic_name: str, group: str) -> bytes:
    consumer = AIOKafkaConsumer(topic_name, **aiokafka_options(as_principal(stack, principal)), group_id=group,
                                auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    try:
        for _ in range(60):
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                return records[0].value
        raise AssertionError(f"{principal} read nothing from {topic_name}")
    finally:
        await consumer.stop()


async def test_a_service_writes_its_own_topics_and_reads_what_it_consumes(secure_stack):
    prefix = secure_stack.config.topic_prefix
    producer = idempotent_producer(as_principal(secure_stack, "intake"), "it-intake")  # acks=all, idempotent
    await producer.start()
    try:
        body = uuid.uuid4().bytes
        await producer.send_and_wait(topic(secure_stack, "intake"), body, key=b"p-1")
        await producer.send_and_wait(dead_letter_topic("intake", prefix), b"bad", key=b"p-1")
    finally:
        await producer.stop()
    # planning consumes intake's events, in its own consumer group
    got = await consume_one(secure_stack, "planning", topic(secure_stack, "intake"), group_id("planning", prefix))
    assert got == body
    # operations reads every dead-letter topic
    dlq = await consume_one(secure_stack, "operations", dead_letter_topic("intake", prefix),
                            group_id("operations", prefix))
    assert dlq == b"bad"


async def test_writing_another_services_topic_is_refused(secure_stack):
    for principal, target in (("scheduling", topic(secure_stack, "intake")),
                              ("operations", topic(secure_stack, "planning")),
                              ("reader", topic(secure_stack, "aftercare"))):
        producer = AIOKafkaProducer(**aiokafka_options(as_principal(secure_stack, principal)), acks="all")
        await producer.start()
        try:
            with pytest.raises(TopicAuthorizationFailedError):
                await asyncio.wait_for(producer.send_and_wait(target, b"forged", key=b"p-1"), 60)
        finally:
            await producer.stop()


async def test_reading_outside_a_services_subscriptions_is_refused(secure_stack):
    prefix = secure_stack.config.topic_prefix
    # scheduling consumes planning and aftercare, not intake; the reader never sees dead letters
    for principal, target in (("scheduling", topic(secure_stack, "intake")),
                              ("reader", dead_letter_topic("planning", prefix)),
                              ("intake", topic(secure_stack, "planning"))):
        consumer = AIOKafkaConsumer(target, **aiokafka_options(as_principal(secure_stack, principal)),
                                    group_id=group_id(principal, prefix))
        try:
            with pytest.raises(TopicAuthorizationFailedError):
                await asyncio.wait_for(consumer.start(), 60)
        finally:
            await consumer.stop()


def test_another_services_consumer_group_is_refused(secure_stack):
    """planning may read intake's topic, but not as scheduling's group (it could move its offsets)."""
    prefix = secure_stack.config.topic_prefix
    planning = kafka_python_options(as_principal(secure_stack, "planning"))
    consumer = KafkaConsumer(topic(secure_stack, "intake"), **planning, group_id=group_id("scheduling", prefix),
                             consumer_timeout_ms=30000)
    try:
        with pytest.raises(GroupAuthorizationFailedError):
            next(iter(consumer))
    finally:
        consumer.close()


async def test_clients_without_the_right_credentials_or_ca_cannot_connect(secure_stack, caplog):
    good = aiokafka_options(as_principal(secure_stack, "intake"))
    attempts = {
        "plaintext": ({"bootstrap_servers": secure_stack.bootstrap}, "closed"),
        "wrong password": ({**good, "sasl_plain_password": "not-the-password"}, "SaslAuthenticationFailed"),
        "another user's name": ({**good, "sasl_plain_username": "planning"}, "SaslAuthenticationFailed"),
        "a CA that did not sign the broker": ({**good, "ssl_context": ssl.create_default_context()},
                                              "CERTIFICATE_VERIFY_FAILED"),
    }
    for what, (options, reason) in attempts.items():
        caplog.clear()
        producer = AIOKafkaProducer(**options, request_timeout_ms=10000)
        with caplog.at_level(logging.ERROR, logger="aiokafka"):
            with pytest.raises(KafkaConnectionError):
                await asyncio.wait_for(producer.start(), 60)
        await producer.stop()
        assert reason in caplog.text, f"{what}: {caplog.text[-500:]}"
    # the same options with the right password do connect
    producer = AIOKafkaProducer(**good)
    await asyncio.wait_for(producer.start(), 60)
    await producer.stop()


def test_a_service_process_runs_on_the_secured_broker_with_its_own_principal(secure_stack):
    """intake as `make run` starts it, on its own principal: it publishes through its relay,
    its consumer group joins, its lag probe describes its group."""
    stack = secure_stack
    reader = TopicReader(stack.bootstrap, topic(stack, "intake"),
                         options=kafka_python_options(as_principal(stack, "reader")))
    try:
        stack.start_service("intake")
        stack.wait_service("intake", timeout_s=180)
        with stack.client(timeout=30) as http:  # a care-team token from the session's Keycloak
            pid = api.refer(http, stack.urls(), referral(3))["participant_id"]
            reader.wait_for(lambda rs: any(r.key == pid.encode() for r in rs), 90, "ReferralReceived from intake")
            metrics = poll(lambda: (t := http.get(f"{stack.url('intake')}/metrics").text)
                           and 'topic="continuum.aftercare.events"' in t and t, 60, "intake's consumer lag")
        assert 'continuum_consumer_lag{service="intake",topic="continuum.aftercare.events"}' in metrics
        event = json.loads(next(r for r in reader.records if r.key == pid.encode()).value)
        assert event["type"].endswith("referral_received.v1")
    finally:
        reader.close()
        stack.stop_service("intake")
    log = (stack.data_dir / "logs" / "intake.log").read_text()
    assert "AuthorizationFailed" not in log and "relay.publish_failed" not in log
