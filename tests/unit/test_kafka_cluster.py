"""The cluster's node configuration, as written for the broker (no broker started)."""

import pytest

from deploy.kafka_cluster import KafkaCluster


def read_props(path) -> dict[str, str]:
    lines = [line for line in path.read_text().splitlines() if "=" in line]
    keys = [line.split("=", 1)[0] for line in lines]
    assert len(keys) == len(set(keys)), "a key written twice"
    return dict(line.split("=", 1) for line in lines)


def test_each_node_has_its_id_and_ports_and_all_share_one_quorum(tmp_path):
    cluster = KafkaCluster(tmp_path, port=29092)
    props = [read_props(node._write_config()) for node in cluster.nodes]
    assert [p["node.id"] for p in props] == ["1", "2", "3"]
    voters = {f"{n.node_id}@127.0.0.1:{n.controller_port}" for n in cluster.nodes}
    assert all(set(p["controller.quorum.voters"].split(",")) == voters for p in props)
    ports = [n.port for n in cluster.nodes] + [n.controller_port for n in cluster.nodes]
    assert len(set(ports)) == 6 and cluster.nodes[0].port == 29092
    assert cluster.bootstrap == ",".join(f"127.0.0.1:{n.port}" for n in cluster.nodes)
    assert len({n.data_dir for n in cluster.nodes}) == 3


def test_replicated_internal_topics_and_two_in_sync_replicas(tmp_path):
    props = read_props(KafkaCluster(tmp_path, port=29092).nodes[1]._write_config())
    assert props["offsets.topic.replication.factor"] == "3"
    assert props["transaction.state.log.replication.factor"] == "3"
    assert props["default.replication.factor"] == "3"
    assert props["min.insync.replicas"] == "2"
    assert props["transaction.state.log.min.isr"] == "2"
    assert props["unclean.leader.election.enable"] == "false"


def test_the_default_cluster_sits_on_the_default_ports(tmp_path):
    cluster = KafkaCluster(tmp_path)
    assert [(n.port, n.controller_port) for n in cluster.nodes] == [(19092, 19093), (19094, 19095), (19096, 19097)]


def test_a_restarted_cluster_keeps_its_id(tmp_path):
    first = KafkaCluster(tmp_path, port=29092)
    again = KafkaCluster(tmp_path, port=29092)
    assert first.nodes[0].cluster_id == again.nodes[2].cluster_id
    assert len({n.cluster_id for n in first.nodes}) == 1


def test_fewer_nodes_than_replicas_is_refused(tmp_path):
    with pytest.raises(ValueError, match="2 nodes cannot hold 3 replicas"):
        KafkaCluster(tmp_path, size=2)
