from deploy.kafka_runner import new_cluster_id


def test_kafka_cluster_ids_never_look_like_an_option():
    ids = [new_cluster_id() for _ in range(2000)]  # ~1 in 64 random ids would start with '-'
    assert all(len(i) == 22 and not i.startswith("-") for i in ids)
    assert len(set(ids)) == len(ids)
