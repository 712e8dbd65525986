"""Fault scenario 7 at small scale, on a stack of its own over a three-broker KRaft cluster
(replication factor 3, min.insync.replicas 2): one broker killed in the middle of a run and
brought back loses nothing acknowledged. (`python -m bench faults --scenario kill-a-broker
--participants 1000` runs it at scale.)"""

import dataclasses
import uuid

import pytest
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient

from bench.faults import kill_a_broker
from deploy.processes import free_port
from deploy.stack import Stack
from services.contracts.topics import declared_topics

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def cluster_stack(stack_config, tmp_path_factory, identity_server):
    config = dataclasses.replace(
        stack_config, data_dir=tmp_path_factory.mktemp("cluster"), kafka_brokers=3, kafka_port=free_port(),
        kafka_controller_port=None, prefect_port=free_port(),
        service_ports={s: free_port() for s in stack_config.service_ports},
        topic_prefix=f"c{uuid.uuid4().hex[:8]}.")
    stack = Stack(config)
    stack.use_identity(identity_server)  # the session's Keycloak (another one would want the same port)
    stack.start()
    yield stack
    stack.stop()


def test_the_stack_topics_are_replicated_to_three_brokers(cluster_stack):
    names = [t.name for t in declared_topics(cluster_stack.config.topic_prefix)]
    admin = KafkaAdminClient(bootstrap_servers=cluster_stack.bootstrap)
    try:
        assert {b["broker_id"] for b in admin.describe_cluster()["brokers"]} == {1, 2, 3}
        for topic in admin.describe_topics([*names, "__consumer_offsets"]):
            assert topic["partitions"], topic["name"]
            assert all(len(p["replica_nodes"]) == 3 for p in topic["partitions"]), topic["name"]
        configs = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, n) for n in names])
    finally:
        admin.close()
    min_isr = {name: config["min.insync.replicas"]["value"]
               for by_name in configs.values() for name, config in by_name.items()}
    assert min_isr == dict.fromkeys(names, "2")


def test_kill_dash_nine_one_broker_of_three_mid_run(cluster_stack):
    result = kill_a_broker(cluster_stack, 12, start_index=700, timeout_s=300)
    print(result.line())
    assert result.lost == 0, result.line()
    assert result.duplicated == 0, result.line()
    assert result.completed >= 1
    assert "(the active controller)" in result.detail, result.detail
    assert " 0 missing from their topics" in result.detail, result.detail
    assert "every ISR full again" in result.detail, result.detail
