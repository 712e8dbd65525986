"""The ACLs of the secured broker, derived from the topic registry: least privilege."""

from deploy.kafka_acls import ADMIN, PRINCIPALS, READER, grants
from deploy.kafka_security import with_properties
from services.contracts.base import SERVICES
from services.contracts.topics import CONSUMERS, SUBSCRIPTIONS, consumed_topics, dead_letter_topic, events_topic

P = "t1."


def _names(user: str, resource: str, operation: str) -> set[str]:
    return {g.name for g in grants(P) if g.user == user and g.resource == resource and g.operation == operation}


def test_each_service_writes_only_its_own_events_and_dead_letters():
    for s in CONSUMERS:
        own = {dead_letter_topic(s, P)} | ({events_topic(s, P)} if s in SERVICES else set())
        assert _names(s, "TOPIC", "WRITE") == own
    assert _names("operations", "TOPIC", "WRITE") == {dead_letter_topic("operations", P)}


def test_each_service_reads_exactly_what_it_consumes_in_its_own_group():
    for s in CONSUMERS:
        assert _names(s, "TOPIC", "READ") == set(consumed_topics(s, P))
        assert _names(s, "GROUP", "READ") == {f"{P}continuum-{s}"}
    assert _names("scheduling", "TOPIC", "READ") == {events_topic(p, P) for p in SUBSCRIPTIONS["scheduling"]}
    assert events_topic("intake", P) not in _names("scheduling", "TOPIC", "READ")


def test_the_reader_reads_every_events_topic_and_no_dead_letter():
    assert _names(READER, "TOPIC", "READ") == {events_topic(s, P) for s in SERVICES}
    assert not _names(READER, "TOPIC", "WRITE")
    assert [g.pattern for g in grants(P) if g.user == READER and g.resource == "GROUP"] == ["PREFIXED"]


def test_no_grant_for_the_super_user_and_none_outside_the_prefix():
    assert all(g.user != ADMIN for g in grants(P))
    assert {g.user for g in grants(P)} == set(PRINCIPALS) - {ADMIN}
    assert all(g.name.startswith(P) for g in grants(P))


def test_broker_properties_replace_in_place_and_append_the_rest():
    lines = ["listeners=PLAINTEXT://127.0.0.1:1", "node.id=1"]
    assert with_properties(lines, {"listeners": "SASL_SSL://127.0.0.1:1", "super.users": "User:admin"}) == [
        "listeners=SASL_SSL://127.0.0.1:1", "node.id=1", "super.users=User:admin"]
