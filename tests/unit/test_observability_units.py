"""Trace context, dead-letter reason codes, lag arithmetic and the topic registry's
consumer-only operations service."""

from kafka import TopicPartition

from services.contracts.envelope import EventContext
from services.contracts.events_intake import ReferralReceived
from services.contracts.published_docs import asyncapi_document
from services.contracts.topics import CONSUMERS, consumed_topics, dead_letter_topic, declared_topics, events_topic
from services.eventing.consumer_lag import lag_by_topic
from services.eventing.dead_letter_reasons import reason_code
from services.eventing.outbox import _traceparent_for
from services.eventing.tracing import current_span, new_trace, parse_traceparent, span_continuing


def test_traceparent_round_trip_and_rejects():
    span = new_trace()
    assert parse_traceparent(span.traceparent) == span
    assert parse_traceparent(span.traceparent.encode()) == span
    for bad in (None, "", "01-abc", "00-" + "0" * 32 + "-" + "1" * 16 + "-01", "00-xyz-123-01"):
        assert parse_traceparent(bad) is None


def test_a_span_continues_its_parents_trace_with_a_new_span_id():
    parent = new_trace()
    with span_continuing(parent.traceparent) as span:
        assert span.trace_id == parent.trace_id and span.span_id != parent.span_id
        assert current_span() == span
    assert current_span() is None
    with span_continuing("garbage") as fresh:
        assert fresh.trace_id != parent.trace_id


def test_an_effect_carries_the_current_span():
    ctx = EventContext.new("t", "p")
    with span_continuing(None) as span:
        assert _traceparent_for(ctx) == span.traceparent, "an API command's events continue its span"
        caused = EventContext("t", "p", "c", traceparent=f"00-{span.trace_id}-{'1' * 16}-01")
        assert _traceparent_for(caused) == span.traceparent, "the handling span is the effect's parent"
    other = new_trace().traceparent
    assert _traceparent_for(EventContext("t", "p", "c", traceparent=other)) == other
    assert parse_traceparent(_traceparent_for(ctx)) is not None, "no span, no cause: a new trace"


def test_dead_letter_reason_codes():
    assert reason_code("not JSON: Expecting value") == "not_json"
    assert reason_code("not a CloudEvent: id: Field required") == "not_cloudevent"
    assert reason_code("unknown event type: continuum.intake.x.v1") == "unknown_type"
    assert reason_code("invalid continuum.intake.y.v1: scores") == "invalid_data"
    assert reason_code("handler failed: KeyError: 'x'") == "handler_failed"
    assert reason_code("something new") == "other"


def test_lag_by_topic_sums_partitions_and_counts_uncommitted_partitions_whole():
    end = {TopicPartition("a", 0): 10, TopicPartition("a", 1): 5, TopicPartition("b", 0): 3}
    committed = {TopicPartition("a", 0): 7, TopicPartition("a", 1): 5, TopicPartition("b", 0): -1}
    assert lag_by_topic(end, committed) == {"a": 3, "b": 3}


def test_operations_consumes_everything_and_has_only_a_dead_letter_topic():
    names = {t.name for t in declared_topics("x.")}
    assert dead_letter_topic("operations", "x.") in names
    assert events_topic("operations", "x.") not in names, "operations publishes no events"
    topics = consumed_topics("operations", "x.")
    assert {dead_letter_topic(c, "x.") for c in CONSUMERS} <= set(topics)
    assert {events_topic(s, "x.") for s in ("intake", "planning", "scheduling", "aftercare")} <= set(topics)
    doc = asyncapi_document()
    assert "operationsDeadLetter" in doc["channels"]
    assert doc["operations"]["operationsReceivesPlanningDeadLetters"]["action"] == "receive"
    assert doc["operations"]["operationsReceivesIntakeEvents"]["action"] == "receive"
    assert ReferralReceived.producer != "operations"
