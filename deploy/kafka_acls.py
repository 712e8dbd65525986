"""Who may do what on a secured cluster, derived from the topic registry
(services/contracts/topics.py): each service's principal writes its own events topic and
its own dead-letter topic, reads exactly the topics its consumer group consumes, and uses
only its own group. Nothing else is allowed (``allow.everyone.if.no.acl.found=false``); the
``admin`` principal is a super user and creates the topics and these ACLs.

The idempotent producer needs no IDEMPOTENT_WRITE on the cluster: since Kafka 2.8 (KIP-679)
WRITE on a topic is enough for a non-transactional InitProducerId. No service uses
transactions, so no TRANSACTIONAL_ID grants either."""

import time
from dataclasses import dataclass
from typing import Literal

from kafka.admin import (
    ACL,
    ACLFilter,
    ACLOperation,
    ACLPermissionType,
    ACLResourcePatternType,
    KafkaAdminClient,
    ResourcePattern,
    ResourcePatternFilter,
    ResourceType,
)

from services.contracts.base import SERVICES
from services.contracts.topics import CONSUMERS, consumed_topics, dead_letter_topic, events_topic
from services.eventing.consumer_lag import group_id
from services.eventing.kafka_connection import kafka_python_options
from services.eventing.settings import KafkaSettings

ADMIN = "admin"
READER = "reader"
"""A read-only principal for integration clients (and tests): reads every events topic,
never a dead letter, with consumer groups named ``<prefix>continuum-reader...``."""

SERVICE_PRINCIPALS: tuple[str, ...] = CONSUMERS
PRINCIPALS: tuple[str, ...] = (ADMIN, *SERVICE_PRINCIPALS, READER)

Operation = Literal["READ", "WRITE", "DESCRIBE"]


@dataclass(frozen=True, order=True)
class Grant:
    user: str
    resource: Literal["TOPIC", "GROUP"]
    name: str
    operation: Operation
    pattern: Literal["LITERAL", "PREFIXED"] = "LITERAL"


def grants(topic_prefix: str = "") -> list[Grant]:
    """Every ACL the system needs for one topic prefix (READ and WRITE imply DESCRIBE)."""
    out: list[Grant] = []
    for s in SERVICE_PRINCIPALS:
        if s in SERVICES:
            out.append(Grant(s, "TOPIC", events_topic(s, topic_prefix), "WRITE"))
        out.append(Grant(s, "TOPIC", dead_letter_topic(s, topic_prefix), "WRITE"))
        out += [Grant(s, "TOPIC", t, "READ") for t in consumed_topics(s, topic_prefix)]
        out.append(Grant(s, "GROUP", group_id(s, topic_prefix), "READ"))
    # the operations dashboard shows every consumer group's lag
    out += [Grant("operations", "GROUP", group_id(c, topic_prefix), "DESCRIBE")
            for c in CONSUMERS if c != "operations"]
    out += [Grant(READER, "TOPIC", events_topic(s, topic_prefix), "READ") for s in SERVICES]
    out.append(Grant(READER, "GROUP", group_id(READER, topic_prefix), "READ", "PREFIXED"))
    return sorted(set(out))


def to_acl(g: Grant) -> ACL:
    return ACL(principal=f"User:{g.user}", host="*", operation=ACLOperation[g.operation],
               permission_type=ACLPermissionType.ALLOW,
               resource_pattern=ResourcePattern(ResourceType[g.resource], g.name,
                                                ACLResourcePatternType[g.pattern]))


def _key(acl: ACL) -> tuple:
    p = acl.resource_pattern
    return acl.principal, int(p.resource_type), p.resource_name, int(p.pattern_type), int(acl.operation)


ANY_ACL = ACLFilter(principal=None, host=None, operation=ACLOperation.ANY, permission_type=ACLPermissionType.ANY,
                    resource_pattern=ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY))


def apply_acls(admin_settings: KafkaSettings, topic_prefix: str = "", timeout_s: float = 60) -> int:
    """Create the ACLs (as the admin principal; creating an existing ACL changes nothing) and
    wait until the broker enforces them: the controller commits them first, the broker's
    authorizer applies them a moment later. Returns how many were requested."""
    acls = [to_acl(g) for g in grants(topic_prefix)]
    wanted = {_key(a) for a in acls}
    admin = KafkaAdminClient(**kafka_python_options(admin_settings), client_id="continuum-acl-admin")
    try:
        result = admin.create_acls(acls)
        if result["failed"]:
            raise RuntimeError(f"creating ACLs failed: {result['failed'][:3]}")
        deadline = time.monotonic() + timeout_s
        while not wanted <= {_key(a) for a in admin.describe_acls(ANY_ACL)[0]}:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the broker did not apply the ACLs within {timeout_s:.0f}s")
            time.sleep(0.2)
    finally:
        admin.close()
    return len(acls)
