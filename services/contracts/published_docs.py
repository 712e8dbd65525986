"""Generates the published contract documents from the models: one JSON Schema per
event type and one AsyncAPI 3 document of every channel, message and operation.

    python -m services.contracts.published_docs          # write docs/events/
    python -m services.contracts.published_docs --check  # exit 1 when stale (CI)
"""

import json
import sys
from pathlib import Path

import yaml

from .base import SERVICES
from .catalogue import EVENT_TYPES
from .envelope import CloudEvent
from .topics import (
    CONSUMERS,
    DEAD_LETTER_SUBSCRIPTIONS,
    SUBSCRIPTIONS,
    TopicSpec,
    dead_letter_topic,
    declared_topics,
    events_topic,
)

DOCS_DIR = Path(__file__).resolve().parents[2] / "docs" / "events"
ASYNCAPI_FILE = DOCS_DIR / "asyncapi.yaml"
SCHEMA_DIR = DOCS_DIR / "schemas"


def event_schemas() -> dict[str, dict]:
    out = {}
    for event_type, model in EVENT_TYPES.items():
        schema = model.model_json_schema(mode="serialization")
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$id"] = f"/schemas/{event_type}.json"
        schema["title"] = model.__name__
        schema["x-event-type"] = event_type
        schema["x-producer"] = model.producer
        out[event_type] = schema
    return out


def _kafka_binding(topic: TopicSpec) -> dict:
    """The AsyncAPI Kafka channel binding (retention as a number, cleanup as a list)."""
    return {"kafka": {
        "topic": topic.name,
        "partitions": topic.partitions,
        "topicConfiguration": {
            "cleanup.policy": topic.config["cleanup.policy"].split(","),
            "retention.ms": int(topic.config["retention.ms"]),
        },
        "bindingVersion": "0.5.0",
    }}


def asyncapi_document() -> dict:
    envelope = CloudEvent.model_json_schema()
    envelope["properties"].pop("data")
    envelope["required"] = [r for r in envelope["required"] if r != "data"]
    topics = {t.name: t for t in declared_topics()}
    messages, schemas = {}, {"CloudEventEnvelope": envelope}
    for event_type, model in EVENT_TYPES.items():
        name = model.__name__
        schema = model.model_json_schema(mode="serialization", ref_template="#/components/schemas/{model}")
        for def_name, definition in schema.pop("$defs", {}).items():
            schemas[def_name] = definition
        schemas[name] = schema
        messages[name] = {
            "name": name,
            "title": name,
            "summary": (model.__doc__ or "").strip().split("\n")[0] or name,
            "contentType": "application/cloudevents+json",
            "headers": {
                "type": "object",
                "properties": {
                    "ce_type": {"type": "string", "const": event_type},
                    "ce_id": {"type": "string"},
                    "ce_source": {"type": "string", "const": f"/services/{model.producer}"},
                    "ce_specversion": {"type": "string", "const": "1.0"},
                    "traceparent": {"type": "string"},
                },
                "required": ["ce_type", "ce_id", "ce_source", "ce_specversion"],
            },
            "payload": {
                "allOf": [
                    {"$ref": "#/components/schemas/CloudEventEnvelope"},
                    {
                        "type": "object",
                        "properties": {
                            "type": {"const": event_type},
                            "data": {"$ref": f"#/components/schemas/{name}"},
                        },
                        "required": ["data"],
                    },
                ]
            },
            "bindings": {"kafka": {"key": {"type": "string", "description": "participant id"}}},
        }
    channels, operations = {}, {}
    for service in SERVICES:
        topic = topics[events_topic(service)]
        names = [m.__name__ for m in EVENT_TYPES.values() if m.producer == service]
        channels[f"{service}Events"] = {
            "address": topic.name,
            "description": topic.description,
            "messages": {n: {"$ref": f"#/components/messages/{n}"} for n in names},
            "bindings": _kafka_binding(topic),
        }
        operations[f"{service}PublishesEvents"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{service}Events"},
            "summary": f"{service} publishes its events (transactional outbox, idempotent producer)",
            "messages": [{"$ref": f"#/channels/{service}Events/messages/{n}"} for n in names],
        }
    for service in CONSUMERS:
        dlq = topics[dead_letter_topic(service)]
        channels[f"{service}DeadLetter"] = {
            "address": dlq.name,
            "description": dlq.description + " (headers dlq_reason, dlq_topic, dlq_partition, dlq_offset)",
            "messages": {"DeadLetter": {"$ref": "#/components/messages/DeadLetter"}},
            "bindings": _kafka_binding(dlq),
        }
        operations[f"{service}DeadLetters"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{service}DeadLetter"},
            "summary": f"{service} dead-letters a message it cannot handle",
            "messages": [{"$ref": f"#/channels/{service}DeadLetter/messages/DeadLetter"}],
        }
        for producer in SUBSCRIPTIONS[service]:
            pnames = [m.__name__ for m in EVENT_TYPES.values() if m.producer == producer]
            operations[f"{service}Receives{producer.capitalize()}Events"] = {
                "action": "receive",
                "channel": {"$ref": f"#/channels/{producer}Events"},
                "summary": f"{service} consumes {producer} events (idempotent consumer)",
                "messages": [{"$ref": f"#/channels/{producer}Events/messages/{n}"} for n in pnames],
            }
    for service, consumers in DEAD_LETTER_SUBSCRIPTIONS.items():
        for consumer in consumers:
            operations[f"{service}Receives{consumer.capitalize()}DeadLetters"] = {
                "action": "receive",
                "channel": {"$ref": f"#/channels/{consumer}DeadLetter"},
                "summary": f"{service} reads {consumer}'s dead letters (counted by reason)",
                "messages": [{"$ref": f"#/channels/{consumer}DeadLetter/messages/DeadLetter"}],
            }
    messages["DeadLetter"] = {
        "name": "DeadLetter",
        "title": "Dead letter",
        "summary": "The original bytes and headers of a message that could not be handled",
        "contentType": "application/octet-stream",
        "headers": {
            "type": "object",
            "properties": {h: {"type": "string"} for h in
                           ("dlq_reason", "dlq_topic", "dlq_partition", "dlq_offset",
                            "dlq_consumer", "dlq_failed_at")},
            "required": ["dlq_reason", "dlq_topic", "dlq_consumer"],
        },
        "payload": {"type": "string", "format": "binary"},
    }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Continuum events",
            "version": "1.0.0",
            "description": (
                "Events exchanged by the Continuum IOP services. CloudEvents 1.0 structured "
                "JSON in the value, participant id as the key. Generated from the pydantic "
                "models in services/contracts; do not edit by hand."
            ),
        },
        "defaultContentType": "application/cloudevents+json",
        "servers": {"local": {"host": "127.0.0.1:19092", "protocol": "kafka",
                              "description": "The development broker started by deploy/"}},
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": dict(sorted(schemas.items()))},
    }


def rendered() -> dict[Path, str]:
    files = {
        SCHEMA_DIR / f"{t}.json": json.dumps(s, indent=2, sort_keys=True) + "\n"
        for t, s in event_schemas().items()
    }
    files[ASYNCAPI_FILE] = yaml.safe_dump(asyncapi_document(), sort_keys=False, width=100)
    return files


def stale_files() -> list[str]:
    expected = rendered()
    stale = [str(p) for p, text in expected.items() if not p.exists() or p.read_text() != text]
    extra = [str(p) for p in SCHEMA_DIR.glob("*.json") if p not in expected]
    return stale + extra


def main(argv: list[str]) -> int:
    if "--check" in argv:
        stale = stale_files()
        for name in stale:
            print(f"stale: {name}", file=sys.stderr)
        if stale:
            print("run: python -m services.contracts.published_docs", file=sys.stderr)
        return 1 if stale else 0
    SCHEMA_DIR.mkdir(parents=True, exist_ok=True)
    for p in SCHEMA_DIR.glob("*.json"):
        p.unlink()
    for path, text in rendered().items():
        path.write_text(text)
    print(f"wrote {len(rendered())} files under {DOCS_DIR}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
