import json
from datetime import UTC, datetime, time

import jsonschema
import pytest
from pydantic import ValidationError

from services.contracts.base import SERVICES
from services.contracts.catalogue import EVENT_TYPES
from services.contracts.codes import AssessmentKind, Finding, LevelOfCare, Weekday
from services.contracts.envelope import EventContext, InvalidEvent, parse_data, parse_envelope, to_record, wrap
from services.contracts.events_intake import AssessmentCompleted, AvailabilityWindow, InstrumentScore
from services.contracts.published_docs import asyncapi_document, event_schemas, stale_files
from services.contracts.topics import declared_topics

CTX = EventContext.new("tenant-1", "adult-mh")


def assessment() -> AssessmentCompleted:
    return AssessmentCompleted(
        participant_id="p-1", assessment_id="asm-1", referral_id="ref-1", episode_id="ep-1",
        kind=AssessmentKind.INITIAL, completed_at=datetime(2026, 11, 28, tzinfo=UTC),
        scores=(InstrumentScore(instrument="phq9", total=14, band="moderate"),),
        findings=(Finding.DEPRESSIVE_SYMPTOMS,),
        availability=(AvailabilityWindow(day=Weekday.MON, start=time(18), end=time(21)),),
        recommended_level_of_care=LevelOfCare.INTENSIVE_OUTPATIENT, admitted_to_iop=True)


def test_the_catalogue_covers_every_service():
    assert {m.producer for m in EVENT_TYPES.values()} == set(SERVICES)
    assert all(t.startswith("continuum.") and t.endswith(".v1") for t in EVENT_TYPES)


def test_events_are_frozen():
    with pytest.raises(ValidationError, match="frozen"):
        assessment().participant_id = "other"


def test_envelope_round_trip_and_kafka_form():
    ce = wrap(assessment(), CTX)
    rec = to_record(ce)
    assert rec.key == b"p-1"
    headers = dict(rec.headers)
    assert headers["ce_type"] == b"continuum.intake.assessment_completed.v1"
    assert headers["ce_id"] == ce.id.encode()
    parsed = parse_envelope(rec.value)
    assert parsed.source == "/services/intake" and parsed.subject == "p-1"
    assert parsed.tenantid == "tenant-1" and parsed.programid == "adult-mh"
    assert parsed.correlationid == CTX.correlation_id
    assert parse_data(parsed) == assessment()


def test_caused_events_carry_correlation_and_causation():
    cause = wrap(assessment(), CTX)
    ctx = EventContext.caused_by(cause)
    assert ctx.correlation_id == cause.correlationid and ctx.causation_id == cause.id


@pytest.mark.parametrize("value,reason", [
    (b"\xff\xfe not json", "not JSON"),
    (b"[1, 2]", "not a CloudEvent"),
    (b'{"hello": "world"}', "not a CloudEvent"),
    (None, "empty message"),
    (b"x" * (600 * 1024), "oversized"),
])
def test_bad_messages_get_a_reason(value, reason):
    with pytest.raises(InvalidEvent, match=reason):
        parse_envelope(value)


def test_unknown_type_and_invalid_data_get_a_reason():
    good = json.loads(to_record(wrap(assessment(), CTX)).value)
    unknown = parse_envelope(json.dumps({**good, "type": "continuum.intake.assessment_completed.v9"}).encode())
    with pytest.raises(InvalidEvent, match="unknown event type"):
        parse_data(unknown)
    bad = parse_envelope(json.dumps({**good, "data": {**good["data"], "admitted_to_iop": "perhaps"}}).encode())
    with pytest.raises(InvalidEvent, match="admitted_to_iop"):
        parse_data(bad)


def test_unknown_optional_fields_are_tolerated_within_a_version():
    good = json.loads(to_record(wrap(assessment(), CTX)).value)
    newer = parse_envelope(json.dumps({**good, "data": {**good["data"], "added_later": 1}}).encode())
    assert parse_data(newer) == assessment()


def test_published_documents_are_fresh():
    assert stale_files() == [], "run: make docs"


def test_asyncapi_covers_every_topic_and_event():
    doc = asyncapi_document()
    assert doc["asyncapi"].startswith("3.")
    addresses = {c["address"] for c in doc["channels"].values()}
    assert addresses == {t.name for t in declared_topics()}
    documented = {name for c in doc["channels"].values() for name in c["messages"]}
    assert {m.__name__ for m in EVENT_TYPES.values()} <= documented
    receivers = [op for op in doc["operations"].values() if op["action"] == "receive"]
    assert receivers, "consumers are documented as receive operations"


def test_events_validate_against_their_published_schema():
    schema = event_schemas()[AssessmentCompleted.event_type]
    jsonschema.validate(wrap(assessment(), CTX).data, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**wrap(assessment(), CTX).data, "kind": "sideways"}, schema)


def test_no_event_field_names_identifying_details():
    banned = {"name", "given_name", "family_name", "date_of_birth", "dob", "email", "phone", "address", "text",
              "notes", "narrative"}
    for model in EVENT_TYPES.values():
        assert not banned & set(model.model_fields), model.__name__



def _properties(schema: dict, defs: dict, seen: set[str] | None = None):
    """(name, property schema) of every property at any depth of an event's JSON Schema."""
    seen = seen if seen is not None else set()
    for name, prop in schema.get("properties", {}).items():
        yield name, prop
        for ref in _refs(prop):
            if ref not in seen:
                seen.add(ref)
                yield from _properties(defs[ref], defs, seen)


def _refs(prop: dict):
    if "$ref" in prop:
        yield prop["$ref"].split("/")[-1]
    for key in ("items", "anyOf", "prefixItems", "allOf"):
        inner = prop.get(key)
        for p in inner if isinstance(inner, list) else [inner] if inner else []:
            yield from _refs(p)


def test_words_about_a_person_appear_in_events_only_sealed():
    """Anywhere in any event, a field named for identifying details or narrative holds a SealedValue
    (or a code: an enumeration, e.g. SessionMissed's reason)."""
    banned = {"name", "given_name", "family_name", "date_of_birth", "dob", "email", "phone", "address", "text",
              "note", "notes", "narrative", "symptoms", "history", "reason", "words"}
    sealed_fields = []
    for event_type, schema in event_schemas().items():
        defs = schema.get("$defs", {})
        for name, prop in _properties(schema, defs):
            if name in banned:
                refs = list(_refs(prop))
                codes = refs and all("enum" in defs[r] for r in refs)
                assert refs == ["SealedValue"] or codes, f"{event_type}: {name} is neither sealed nor a code"
                sealed_fields += [(event_type, name)] if refs == ["SealedValue"] else []
    assert ("continuum.intake.assessment_completed.v1", "text") in sealed_fields


def test_a_sealed_goal_is_an_optional_addition_within_the_version():
    old_reader_view = assessment().model_dump(mode="json")
    assert "goals" in old_reader_view and AssessmentCompleted.model_fields["goals"].is_required() is False
    without = {k: v for k, v in old_reader_view.items() if k != "goals"}
    assert AssessmentCompleted.model_validate(without).goals == ()
