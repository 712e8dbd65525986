"""Crypto-shredding end to end: once intake deletes a participant's data key, their goals can
no longer be opened from the events already on the topic (nor from planning's sealed copy),
while other participants' still open; and an event sealed under the shredded key is still
handled by every consumer (ids and codes), its words shown as unavailable, nothing dead-lettered."""

import json
import time
import uuid

import pytest
from kafka import KafkaProducer

from deploy import api_client as api
from deploy.demo_cohort import assessment, referral
from services.contracts.sealed import SealedValue
from services.contracts.topics import dead_letter_topic, events_topic
from services.eventing.settings import ContinuumSettings
from services.privacy.errors import KeyShredded
from services.privacy.sealing import goal_field, open_sealed
from services.privacy.settings import local_key_management
from tests.support.waiting import poll

pytestmark = pytest.mark.e2e


def goals_of(record) -> list[tuple[str, SealedValue]]:
    return [(g["goal_id"], SealedValue.model_validate(g["text"])) for g in record.event["data"]["goals"]]


def test_shredding_a_key_makes_past_events_unreadable_for_that_participant_only(stack, readers):
    prefix, urls = stack.config.topic_prefix, stack.urls()
    intake = readers(events_topic("intake", prefix))
    keys = local_key_management(ContinuumSettings(data_dir=stack.data_dir))  # the deployment's key store
    erase = stack.auth_headers("privacy_officer")
    with stack.client() as http:
        gone, kept = (api.refer(http, urls, referral(i))["participant_id"] for i in (21, 22))
        for pid, i in ((gone, 21), (kept, 22)):
            assert api.assess(http, urls, pid, assessment(i))["admitted_to_iop"]
            poll(lambda pid=pid: api.plan(http, urls, pid), 90, "a plan")
        completed = {pid: next(r for r in intake.wait_for(
            lambda rs, pid=pid: any(r.key == pid.encode() and r.headers["ce_type"].endswith(b"assessment_completed.v1")
                                    for r in rs), 30, "AssessmentCompleted")
            if r.key == pid.encode() and r.headers["ce_type"].endswith(b"assessment_completed.v1"))
            for pid in (gone, kept)}
        said = {pid: [g["text"] for g in assessment(i)["sections"]["clinical_interview"]["goals"]]
                for pid, i in ((gone, 21), (kept, 22))}
        for pid, record in completed.items():  # before: both open, from the raw event
            assert [open_sealed(keys, pid, goal_field(g), s) for g, s in goals_of(record)] == said[pid]

        r = http.delete(f"{urls.intake}/participants/{gone}/data-key", headers=erase)
        assert r.status_code == 200, r.text
        key_id = goals_of(completed[gone])[0][1].key_id
        assert [k["key_id"] for k in r.json()["shredded_keys"]] == [key_id]
        assert http.delete(f"{urls.intake}/participants/{gone}/data-key", headers=erase).json() == r.json(), \
            "again: no change"
        assert http.delete(f"{urls.intake}/participants/p-nobody/data-key", headers=erase).status_code == 404

        for goal_id, sealed in goals_of(completed[gone]):  # after: the same bytes no longer open
            with pytest.raises(KeyShredded):
                open_sealed(keys, gone, goal_field(goal_id), sealed)
        assert [open_sealed(keys, kept, goal_field(g), s) for g, s in goals_of(completed[kept])] == said[kept]

        plan = api.plan(http, urls, gone)["plan"]  # planning's sealed copy is gone with the key
        assert [(g["words"], g["words_status"]) for g in plan["goals"]] == [(None, "shredded")] * 2
        assert [g["words"] for g in api.plan(http, urls, kept)["plan"]["goals"]] == said[kept]

        # the shredded participant's sealed event, replayed as a new episode, is still handled
        replay = json.loads(completed[gone].value)
        episode = f"ep-{uuid.uuid4().hex[:16]}"
        replay["id"] = str(uuid.uuid4())
        replay["data"] |= {"episode_id": episode, "assessment_id": f"asm-{uuid.uuid4().hex[:16]}"}
        producer = KafkaProducer(bootstrap_servers=stack.bootstrap, acks="all")
        producer.send(events_topic("intake", prefix), key=gone.encode(), value=json.dumps(replay).encode(),
                      headers=[(k, v) for k, v in completed[gone].headers.items() if k != "ce_id"]
                      + [("ce_id", replay["id"].encode())])
        producer.flush()
        producer.close()
        new_plan = poll(lambda: (p := api.plan(http, urls, gone)) and p["plan"]["episode_id"] == episode and p,
                        90, "a plan from the replayed event")["plan"]
        assert [g["words_status"] for g in new_plan["goals"]] == ["shredded", "shredded"]
        assert [g["goal_id"] for g in new_plan["goals"]] == [g for g, _ in goals_of(completed[gone])]
    time.sleep(2)
    dead = readers(*[dead_letter_topic(c, prefix) for c in ("planning", "aftercare", "scheduling")])
    dead.poll()
    dead.poll()
    assert not [r for r in dead.records if r.key == gone.encode()], "nothing dead-lettered for a shredded key"
