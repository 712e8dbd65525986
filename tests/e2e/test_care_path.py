"""End to end, as users and integration teams see it: a participant from referral to
scheduled follow-ups through the HTTP APIs only; every event asserted as a plain Kafka
consumer sees it, the follow-up flow runs as the Prefect API reports them."""

import json
import time
from datetime import datetime

import httpx
import pytest
from kafka import KafkaProducer

from deploy import api_client as api
from deploy.demo_cohort import IMPROVED_PHQ9, assessment, reassessment, referral
from services.contracts.base import SERVICES
from services.contracts.topics import dead_letter_topic, events_topic
from tests.support.phi_scan import cohort_phi, scannable_text
from tests.support.waiting import poll

pytestmark = pytest.mark.e2e

CARE_PATH = [
    ("intake", "referral_received"), ("intake", "assessment_completed"), ("planning", "plan_created"),
    ("scheduling", "sessions_scheduled"), ("scheduling", "session_attended"),
    ("planning", "ready_for_step_down"), ("aftercare", "aftercare_plan_created"),
    ("aftercare", "participant_discharged"), ("aftercare", "follow_up_scheduled"),
]




def get_json(http: httpx.Client, url: str):
    r = http.get(url)
    return r.json() if r.status_code == 200 else None


def flow_runs(stack, ids: list[str]) -> list[dict]:
    r = httpx.post(f"{stack.prefect.api_url}/flow_runs/filter", auth=stack.prefect.auth,
                   json={"flow_runs": {"id": {"any_": ids}}})
    r.raise_for_status()
    return r.json()


def admit(stack, http: httpx.Client, index: int) -> str:
    pid = api.refer(http, stack.urls(), referral(index))["participant_id"]
    assert api.assess(http, stack.urls(), pid, assessment(index))["admitted_to_iop"]
    return pid


def attend_until_step_down(stack, http: httpx.Client, pid: str, index: int) -> dict:
    booked = poll(lambda: api.sessions(http, stack.urls(), pid), 60, "sessions scheduled")
    assert booked["hours_scheduled"] >= 9, "IOP minimum hours placed"
    for s in booked["sessions"][:3]:
        assert api.attend(http, stack.urls(), s["session_id"])["status"] == "attended"
    # step-down is measurement-based: a re-assessment showing response and remission
    api.assess(http, stack.urls(), pid, reassessment(index, phq9=IMPROVED_PHQ9))
    return poll(lambda: (a := api.aftercare(http, stack.urls(), pid)) and len(a["follow_ups"]) == 4
                and all(f["flow_runs"] == "scheduled" for f in a["follow_ups"]) and a,
                60, "four follow-ups with their flow runs on Prefect")


def test_a_participant_goes_from_referral_to_scheduled_follow_ups(stack, readers):
    prefix = stack.config.topic_prefix
    reader = readers(*[events_topic(s, prefix) for s in SERVICES])
    with stack.client() as http:
        pid = admit(stack, http, 1)
        aftercare = attend_until_step_down(stack, http, pid, 1)

        reader.wait_for(lambda rs: len(reader.events(pid, "follow_up_scheduled.v1")) == 4, 30,
                        "FollowUpScheduled x4 on the topic")
        mine = [r for r in reader.records if r.key == pid.encode()]
        types = [r.headers["ce_type"].decode() for r in mine]
        for producer, name in CARE_PATH:
            assert f"continuum.{producer}.{name}.v1" in types, name
            topic_of = {r.topic for r in mine if r.headers["ce_type"].decode() == f"continuum.{producer}.{name}.v1"}
            assert topic_of == {events_topic(producer, prefix)}, "each service writes only its own topic"
        assert types.count("continuum.scheduling.session_attended.v1") == 3
        assert types.count("continuum.planning.plan_created.v1") == 1

        by_type = {r.headers["ce_type"].decode(): r.event for r in reversed(mine)}  # the first of each type
        assessed = by_type["continuum.intake.assessment_completed.v1"]
        plan = by_type["continuum.planning.plan_created.v1"]
        assert plan["causationid"] == assessed["id"] and plan["correlationid"] == assessed["correlationid"]
        assert plan["data"]["weekly_hours_target"] >= 9
        assert {e["tenantid"] for e in (r.event for r in mine)} == {"demo-network"}

        known = cohort_phi([1])
        for r in mine:  # ids, codes and scores only: no names, birth dates or narrative in clear
            text, _ = scannable_text(r.value, r.headers)
            assert not known.found_in(text), known.found_in(text)

        scheduled = reader.events(pid, "follow_up_scheduled.v1")
        run_ids = [e["data"]["flow_run_id"] for e in scheduled]
        runs = flow_runs(stack, run_ids)
        assert len(runs) == 4
        assert sorted(r["parameters"]["follow_up_id"] for r in runs) == sorted(
            f["follow_up_id"] for f in aftercare["follow_ups"])
        due = {e["data"]["flow_run_id"]: datetime.fromisoformat(e["data"]["due_at"]) for e in scheduled}
        for r in runs:
            assert abs((datetime.fromisoformat(r["expected_start_time"]) - due[r["id"]]).total_seconds()) < 1
        assert sorted(e["data"]["day_offset"] for e in scheduled) == [7, 30, 90, 180]

        # the day-7 check-in runs when due (a 'day' is 2 s here): reminder sent, check-in open
        d7 = next(e["data"] for e in scheduled if e["data"]["day_offset"] == 7)
        done = poll(lambda: [r for r in flow_runs(stack, [d7["flow_run_id"]]) if r["state_type"] == "COMPLETED"],
                    90, "the day-7 flow run to complete")
        assert done[0]["parameters"]["participant_id"] == pid
        follow_up = next(f for f in api.aftercare(http, stack.urls(), pid)["follow_ups"] if f["day_offset"] == 7)
        assert follow_up["status"] == "open"
        notifications = stack.data_dir / "notifications.jsonl"
        poll(lambda: notifications.exists() and any(json.loads(line)["follow_up_id"] == d7["follow_up_id"]
                                                    for line in notifications.read_text().splitlines()),
             30, "the dispatcher to send the day-7 reminder")

        # a relapse at the check-in is the way back up: intake re-refers
        checked = api.check_in(http, stack.urls(), d7["follow_up_id"], {
            "phq9_total": 8, "phq9_item9": 0, "substance_use_since_last_contact": True,
            "engaged_with_step_down_provider": True, "housing_stable": True, "work_or_school_stable": True})
        assert checked["result"] == "relapse"
        reader.wait_for(lambda rs: len(reader.events(pid, "referral_received.v1")) == 2, 30, "a re-referral")
        again = reader.events(pid, "referral_received.v1")[-1]["data"]
        assert again["source"] == "step_up_from_aftercare" and again["prior_episode_id"] == d7["episode_id"]
        assert reader.events(pid, "relapse_risk_detected.v1")[0]["data"]["risk"] == "relapse"


def test_redelivered_events_cause_no_second_effect(stack, readers):
    prefix = stack.config.topic_prefix
    reader = readers(*[events_topic(s, prefix) for s in SERVICES])
    with stack.client() as http:
        pid = admit(stack, http, 4)
        attend_until_step_down(stack, http, pid, 4)
        reader.wait_for(lambda rs: len(reader.events(pid, "follow_up_scheduled.v1")) == 4, 30, "follow-ups")
        health = {s: get_json(http, f"{stack.url(s)}/health") for s in ("planning", "aftercare")}
        producer = KafkaProducer(bootstrap_servers=stack.bootstrap, acks="all")
        for suffix in ("assessment_completed.v1", "ready_for_step_down.v1"):
            record = next(r for r in reader.records if r.key == pid.encode()
                          and r.headers["ce_type"].decode().endswith(suffix))
            producer.send(record.topic, value=record.value, key=record.key, headers=list(record.headers.items()))
        producer.flush()
        producer.close()
        for s in ("planning", "aftercare"):
            poll(lambda s=s: get_json(http, f"{stack.url(s)}/health")["consumed"].get("duplicate", 0)
                 > health[s]["consumed"].get("duplicate", 0), 30, f"{s} to see the duplicate")
        time.sleep(2)
        reader.poll()
        assert len(reader.events(pid, "plan_created.v1")) == 1
        assert len(reader.events(pid, "follow_up_scheduled.v1")) == 4
        run_ids = [e["data"]["flow_run_id"] for e in reader.events(pid, "follow_up_scheduled.v1")]
        r = httpx.post(f"{stack.prefect.api_url}/flow_runs/filter", auth=stack.prefect.auth,
                       json={"flow_runs": {"id": {"any_": run_ids}}})
        assert len(r.json()) == 4


def test_poison_messages_are_dead_lettered_and_the_worker_keeps_going(stack, readers):
    prefix = stack.config.topic_prefix
    intake_topic = events_topic("intake", prefix)
    producer = KafkaProducer(bootstrap_servers=stack.bootstrap, acks="all")
    good = json.loads(next(r for r in readers(intake_topic).wait_for(
        lambda rs: rs, 10, "an intake event") if r.headers["ce_type"].endswith(b"assessment_completed.v1")).value)
    poison = {
        b"{{ definitely not json": "not JSON",
        json.dumps({"specversion": "1.0", "id": "x"}).encode(): "not a CloudEvent",
        json.dumps({**good, "id": "poison-unknown", "type": "continuum.intake.moon_landed.v1"}).encode():
            "unknown event type",
        json.dumps({**good, "id": "poison-future", "type": "continuum.intake.assessment_completed.v2"}).encode():
            "unknown event type",
        json.dumps({**good, "id": "poison-invalid", "data": {**good["data"], "scores": "lots"}}).encode(): "invalid",
    }
    for value in poison:
        producer.send(intake_topic, value=value, key=b"p-poison", headers=[("origin", b"e2e")])
    producer.flush()
    producer.close()
    dlq = readers(dead_letter_topic("planning", prefix))
    records = dlq.wait_for(lambda rs: len({r.value for r in rs} & set(poison)) == len(poison), 60,
                           "every poison message in planning's dead-letter topic")
    for r in records:
        if r.value in poison:
            assert poison[r.value] in r.headers["dlq_reason"].decode()
            assert r.headers["origin"] == b"e2e" and r.headers["dlq_topic"].decode() == intake_topic
    with stack.client() as http:  # the worker keeps going
        pid = admit(stack, http, 2)
        poll(lambda: api.plan(http, stack.urls(), pid), 60, "a plan after poison")


def test_bad_http_input_names_the_field(stack):
    with stack.client() as http:
        intake = stack.url("intake")
        body = referral(3)
        r = http.post(f"{intake}/referrals",
                      json={**body, "participant": {**body["participant"], "date_of_birth": "x"}})
        assert r.status_code == 422
        assert ["body", "participant", "date_of_birth"] in [e["loc"] for e in r.json()["detail"]]
        pid = http.post(f"{intake}/referrals", json=body).json()["participant_id"]
        aid = http.post(f"{intake}/participants/{pid}/assessments", json={"kind": "initial"}).json()["assessment_id"]
        bad = assessment(3)["instruments"]["phq9"]
        bad["items"] = [*bad["items"][:8], 7]
        r = http.post(f"{intake}/assessments/{aid}/instruments/phq9", json=bad)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "items"]
        assert "item 9" in r.json()["detail"][0]["msg"]
        r = http.post(f"{intake}/participants/p-nobody/assessments", json={"kind": "initial"})
        assert r.status_code == 404 and "p-nobody" in r.json()["detail"]
        r = http.post(f"{stack.url('scheduling')}/sessions/ses-nothing/attendance", json={"status": "attended"})
        assert r.status_code == 404
        r = http.post(f"{stack.url('scheduling')}/sessions/ses-nothing/attendance", json={"status": "missed"})
        assert r.status_code == 422 and "reason" in r.text
        assert http.get(f"{stack.url('aftercare')}/participants/p-nobody/aftercare").status_code == 404
