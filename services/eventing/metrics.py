"""Prometheus metrics of a service process (one service per process, so the default
registry). Counters and the histogram are updated where the work happens; the gauges
(outbox backlog, consumer lag) are measured when ``/metrics`` is scraped."""

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Gauge, Histogram, generate_latest

EVENTS_CONSUMED = Counter(
    "continuum_events_consumed_total",
    "Events a service consumed, by type and outcome (handled, duplicate, ignored, dead_lettered)",
    ["service", "event_type", "outcome"])
HANDLER_FAILURES = Counter(
    "continuum_event_handler_failures_total",
    "Failed handler attempts, by type and kind (transient: retried; permanent: dead-lettered)",
    ["service", "event_type", "kind"])
DEAD_LETTERS = Counter(
    "continuum_dead_letters_total", "Messages a service sent to its dead-letter topic, by reason code",
    ["service", "reason"])
HANDLER_SECONDS = Histogram(
    "continuum_event_handler_seconds", "Time to handle one event (decode, handler, commit)",
    ["service", "event_type"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
EVENTS_PUBLISHED = Counter(
    "continuum_events_published_total", "Outbox rows the relay published to Kafka", ["service"])
OUTBOX_BACKLOG = Gauge(
    "continuum_outbox_backlog", "Outbox rows not yet published", ["service"])
CONSUMER_LAG = Gauge(
    "continuum_consumer_lag", "Messages not yet consumed by the service's group, per topic",
    ["service", "topic"])


STORE_WRITE_WAIT = Histogram(
    "continuum_store_write_wait_seconds", "Time a unit of work waited for this process's turn to write",
    buckets=(0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
EVENT_LOOP_LAG = Gauge(
    "continuum_event_loop_lag_seconds", "How late the event loop ran a timer, worst over the last minute")


def exposition() -> tuple[bytes, str]:
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
