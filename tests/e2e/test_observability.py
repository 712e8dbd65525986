"""Observability of every service against the real stack: Prometheus metrics, JSON logs
with correlation and trace ids, and W3C trace context from cause to effect."""

import json

import httpx
import pytest

from deploy import api_client as api
from deploy.demo_cohort import IMPROVED_PHQ9, assessment, reassessment, referral
from services.contracts.base import SERVICES
from services.contracts.topics import CONSUMERS, events_topic
from services.eventing.tracing import new_trace, parse_traceparent
from tests.support.waiting import poll

pytestmark = pytest.mark.e2e

METRICS = ("continuum_events_consumed_total", "continuum_event_handler_failures_total",
           "continuum_dead_letters_total", "continuum_event_handler_seconds", "continuum_events_published_total",
           "continuum_outbox_backlog", "continuum_consumer_lag")


def log_lines(stack, service: str) -> list[dict]:
    lines = (stack.data_dir / "logs" / f"{service}.log").read_text(errors="replace").splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]




def test_every_service_answers_metrics_with_the_named_metrics(stack):
    with stack.client() as http:
        pid = api.refer(http, stack.urls(), referral(5))["participant_id"]
        api.assess(http, stack.urls(), pid, assessment(5))
        poll(lambda: api.plan(http, stack.urls(), pid), 60, "a plan")
        pages = {s: http.get(f"{stack.url(s)}/metrics") for s in CONSUMERS}
    for service, r in pages.items():
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
        for name in METRICS:
            assert f"# TYPE {name} " in r.text, (service, name)
        assert f'continuum_outbox_backlog{{service="{service}"}}' in r.text
        assert f'continuum_consumer_lag{{service="{service}"' in r.text, "lag per topic read"
    planning = pages["planning"].text
    handled = [line for line in planning.splitlines() if line.startswith("continuum_events_consumed_total{")
               and 'event_type="continuum.intake.assessment_completed.v1"' in line and 'outcome="handled"' in line]
    assert handled and float(handled[0].rsplit(" ", 1)[1]) >= 1
    assert 'continuum_event_handler_seconds_bucket{event_type="continuum.intake.assessment_completed.v1"' in planning
    assert float(next(line for line in pages["intake"].text.splitlines()
                      if line.startswith('continuum_events_published_total{service="intake"}')).rsplit(" ", 1)[1]) >= 2
    for r in pages.values():  # the loop's lag and the writers' waits (issue 13's evidence, kept measured)
        assert "# TYPE continuum_event_loop_lag_seconds gauge" in r.text
        assert "# TYPE continuum_store_write_wait_seconds histogram" in r.text


def test_health_reports_the_event_loop_lag_and_the_store_write_wait(stack):
    with httpx.Client(timeout=15) as http:
        for service in CONSUMERS:
            health = http.get(f"{stack.url(service)}/health").json()
            lag = health["event_loop_lag"]
            assert lag["samples"] > 0, (service, "the monitor measures while the service runs")
            assert lag["worst_last_minute_ms"] >= lag["last_ms"] >= 0, (service, lag)
            assert health["store_write_wait_worst_last_minute_ms"] >= 0


def test_an_api_command_starts_a_trace_that_its_effects_continue(stack, readers):
    reader = readers(*[events_topic(s, stack.config.topic_prefix) for s in SERVICES])
    responses: list[httpx.Response] = []
    with stack.client(event_hooks={"response": [responses.append]}) as http:
        pid = api.refer(http, stack.urls(), referral(6))["participant_id"]
        assert api.assess(http, stack.urls(), pid, assessment(6))["admitted_to_iop"]
    completion = next(r for r in reversed(responses) if r.request.url.path.endswith("/completion"))
    command_span = parse_traceparent(completion.headers["traceparent"])
    reader.wait_for(lambda rs: reader.events(pid, "sessions_scheduled.v1"), 60, "sessions scheduled")
    mine = {r.headers["ce_type"].decode().split(".")[-2]: r for r in reader.records if r.key == pid.encode()}
    for name in ("assessment_completed", "plan_created", "sessions_scheduled"):
        record = mine[name]
        header = record.headers["traceparent"].decode()
        assert record.event["traceparent"] == header, "envelope extension and header agree"
        assert parse_traceparent(header).trace_id == command_span.trace_id, name
    spans = {parse_traceparent(mine[n].headers["traceparent"]).span_id
             for n in ("assessment_completed", "plan_created", "sessions_scheduled")}
    assert len(spans) == 3, "each hop is its own span in the one trace"
    intake_lines = [line for line in log_lines(stack, "intake") if line.get("trace_id") == command_span.trace_id]
    assert any(line["event"] == "http.command" and line["path"].endswith("/completion")
               and line["status"] < 300 for line in intake_lines)


def test_one_participants_trace_id_is_in_the_logs_of_all_four_services(stack):
    """A front end keeps one W3C trace for the participant's journey and sends it with each
    call; every service's logs carry that trace id, with correlation ids, never PHI."""
    journey = new_trace()
    urls = stack.urls()
    with stack.client(headers={"traceparent": journey.traceparent}) as http:
        pid = api.refer(http, urls, referral(8))["participant_id"]
        assert api.assess(http, urls, pid, assessment(8))["admitted_to_iop"]
        booked = poll(lambda: api.sessions(http, urls, pid), 60, "sessions")
        for s in booked["sessions"][:3]:
            api.attend(http, urls, s["session_id"])
        api.assess(http, urls, pid, reassessment(8, phq9=IMPROVED_PHQ9))  # step-down is measurement-based
        care = poll(lambda: (a := api.aftercare(http, urls, pid)) and a["follow_ups"] and a, 60, "aftercare")
        day7 = next(f for f in care["follow_ups"] if f["day_offset"] == 7)
        api.check_in(http, urls, day7["follow_up_id"], {
            "phq9_total": 9, "phq9_item9": 0, "substance_use_since_last_contact": True,
            "engaged_with_step_down_provider": True, "housing_stable": True, "work_or_school_stable": True})

    def traced() -> dict[str, list[dict]] | None:
        found = {s: [line for line in log_lines(stack, s) if line.get("trace_id") == journey.trace_id]
                 for s in SERVICES}
        consumed = {s: [line for line in lines if line["event"] == "event.consumed"] for s, lines in found.items()}
        return found if all(consumed.values()) else None

    found = poll(traced, 60, "the journey's trace id in every service's consumed-event logs")
    for service, lines in found.items():
        assert {line["service"] for line in lines} == {service}
        consumed = [line for line in lines if line["event"] == "event.consumed"]
        assert all(line["correlation_id"] and line["participant_id"] == pid for line in consumed), service
    assert any(line["event_type"] == "continuum.aftercare.relapse_risk_detected.v1"
               for line in found["intake"] if line["event"] == "event.consumed"), "back up to intake"
    person = referral(8)["participant"]
    for service in SERVICES:
        text = (stack.data_dir / "logs" / f"{service}.log").read_text(errors="replace")
        assert person["given_name"] + '"' not in text and person["date_of_birth"] not in text
