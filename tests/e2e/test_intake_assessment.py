"""Intake end to end: the multi-section assessment through the HTTP API, its events as a
plain Kafka consumer sees them, and what planning does (or does not do) with them."""

import time
import uuid
from datetime import UTC, datetime

import httpx
import pytest
from kafka import KafkaProducer

from deploy import api_client as api
from deploy.demo_cohort import assessment, reassessment, referral
from services.contracts.codes import RelapseRisk
from services.contracts.envelope import EventContext, to_record, wrap
from services.contracts.events_aftercare import RelapseRiskDetected
from services.contracts.sealed import SealedValue
from services.contracts.topics import events_topic
from services.eventing.settings import ContinuumSettings
from services.privacy.sealing import goal_field, open_sealed
from services.privacy.settings import local_key_management
from tests.support.phi_scan import clear_phi_keys, cohort_phi, scannable_text
from tests.support.waiting import poll

pytestmark = pytest.mark.e2e


def intake_reader(stack, readers):
    return readers(events_topic("intake", stack.config.topic_prefix))


def types_of(reader, pid: str) -> list[str]:
    """The participant's intake events in the order of their partition."""
    mine = sorted((r for r in reader.records if r.key == pid.encode()), key=lambda r: r.offset)
    return [r.headers["ce_type"].decode().split(".")[2] for r in mine]




def test_a_complete_assessment_emits_exactly_one_assessment_completed(stack, readers):
    reader = intake_reader(stack, readers)
    with stack.client() as http:
        pid = api.refer(http, stack.urls(), referral(11))["participant_id"]
        outcome = api.assess(http, stack.urls(), pid, assessment(11))
        assert outcome["admitted_to_iop"] and outcome["recommended_level_of_care"] == "2.1"
        assert outcome["safety_flagged"] is False and len(outcome["scores"]) == 5
        reader.wait_for(lambda rs: "assessment_completed" in types_of(reader, pid), 30, "AssessmentCompleted")
        poll(lambda: api.plan(http, stack.urls(), pid), 60, "a plan for the admitted participant")
    reader.poll()
    assert types_of(reader, pid) == ["referral_received", "assessment_completed"]
    done = reader.events(pid, "assessment_completed.v1")[0]["data"]
    assert done["assessment_id"] == outcome["assessment_id"] and len(done["dimensions"]) == 6
    assert len(done["signatures"]) == 4 and done["rationale_codes"][0] == "iop_appropriate"


def test_an_at_risk_participant_is_flagged_before_completion_and_not_admitted(stack, readers):
    reader = intake_reader(stack, readers)
    with stack.client() as http:
        pid = api.refer(http, stack.urls(), referral(7))["participant_id"]
        outcome = api.assess(http, stack.urls(), pid, assessment(7))
        assert outcome["safety_flagged"] and not outcome["admitted_to_iop"]
        assert outcome["recommended_level_of_care"] == "4"  # same-day evaluation (C-SSRS high)
        reader.wait_for(lambda rs: "referred_out" in types_of(reader, pid), 30, "ReferredOut")
        time.sleep(3)  # planning has had its chance
        assert api.plan(http, stack.urls(), pid) is None, "no plan for a participant not admitted"
    types = types_of(reader, pid)
    assert types == ["referral_received", "safety_risk_flagged", "safety_risk_flagged", "assessment_completed",
                     "referred_out"]
    flag = reader.events(pid, "safety_risk_flagged.v1")[0]["data"]
    assert flag["severity"] == "high" and flag["respond_by"] > flag["flagged_at"]


def test_a_non_iop_recommendation_is_referred_out_and_planning_makes_no_plan(stack, readers):
    reader = intake_reader(stack, readers)
    with stack.client() as http:
        out = api.refer(http, stack.urls(), referral(19))["participant_id"]
        assert api.assess(http, stack.urls(), out, assessment(19))["recommended_level_of_care"] == "1"
        control = api.refer(http, stack.urls(), referral(12))["participant_id"]
        assert api.assess(http, stack.urls(), control, assessment(12))["admitted_to_iop"]
        poll(lambda: api.plan(http, stack.urls(), control), 60, "the control participant's plan")
        time.sleep(2)
        assert api.plan(http, stack.urls(), out) is None
    reader.wait_for(lambda rs: "referred_out" in types_of(reader, out), 30, "ReferredOut")
    assert types_of(reader, out) == ["referral_received", "assessment_completed", "referred_out"]
    referred = reader.events(out, "referred_out.v1")[0]["data"]
    assert referred["recommended_level_of_care"] == "1" and referred["reason_code"] == "below_iop_threshold"


def test_a_reassessment_is_linked_to_the_episode_and_makes_no_second_plan(stack, readers):
    reader = intake_reader(stack, readers)
    with stack.client() as http:
        pid = api.refer(http, stack.urls(), referral(13))["participant_id"]
        first = api.assess(http, stack.urls(), pid, assessment(13))
        poll(lambda: api.plan(http, stack.urls(), pid), 60, "a plan")
        again = api.assess(http, stack.urls(), pid, reassessment(13, [1] * 8 + [0], [1] * 7))
        assert again["kind"] == "reassessment" and again["episode_id"] == first["episode_id"]
        listed = http.get(f"{stack.url('intake')}/participants/{pid}/assessments").json()["assessments"]
        assert [a["kind"] for a in listed] == ["initial", "reassessment"]
    reader.wait_for(lambda rs: len(reader.events(pid, "assessment_completed.v1")) == 2, 30, "the re-assessment")
    re = reader.events(pid, "assessment_completed.v1")[1]["data"]
    assert re["kind"] == "reassessment" and re["episode_id"] == first["episode_id"]
    assert next(s for s in re["scores"] if s["instrument"] == "phq9") == {"instrument": "phq9", "total": 8,
                                                                          "band": "mild"}
    time.sleep(2)
    planning = readers(events_topic("planning", stack.config.topic_prefix))
    planning.poll()
    assert len(planning.events(pid, "plan_created.v1")) == 1


def test_a_step_back_up_re_referral_takes_its_path(stack, readers):
    reader = intake_reader(stack, readers)
    with stack.client() as http:
        pid = api.refer(http, stack.urls(), referral(14))["participant_id"]
        first = api.assess(http, stack.urls(), pid, assessment(14))
        relapse = RelapseRiskDetected(participant_id=pid, follow_up_id=f"fu-{uuid.uuid4().hex[:8]}",
                                      episode_id=first["episode_id"], risk=RelapseRisk.RELAPSE,
                                      detected_at=datetime.now(UTC))
        rec = to_record(wrap(relapse, EventContext.new("demo-network", "adult-mh")))
        producer = KafkaProducer(bootstrap_servers=stack.bootstrap, acks="all")
        producer.send(events_topic("aftercare", stack.config.topic_prefix), key=rec.key, value=rec.value,
                      headers=list(rec.headers))
        producer.flush()
        producer.close()
        reader.wait_for(lambda rs: len(reader.events(pid, "referral_received.v1")) == 2, 30, "the re-referral")
        again = reader.events(pid, "referral_received.v1")[1]["data"]
        assert again["source"] == "step_up_from_aftercare" and again["prior_episode_id"] == first["episode_id"]
        back = api.assess(http, stack.urls(), pid, assessment(14))
        assert back["episode_id"] == again["episode_id"] != first["episode_id"]
        assert back["dimensions"]["d5_relapse_potential"] >= 2, "a step back up raises relapse potential"
        assert back["admitted_to_iop"]
    reader.wait_for(lambda rs: len(reader.events(pid, "assessment_completed.v1")) == 2, 30, "the new assessment")
    assert reader.events(pid, "assessment_completed.v1")[1]["data"]["referral_id"] == again["referral_id"]


def test_bad_requests_are_refused_with_the_reason(stack):
    intake = stack.url("intake")
    body = assessment(15)
    with stack.client() as http:
        pid = api.refer(http, stack.urls(), referral(15))["participant_id"]
        aid = http.post(f"{intake}/participants/{pid}/assessments", json={"kind": "initial"}).json()["assessment_id"]
        base = f"{intake}/assessments/{aid}"
        # who signs is the token: a body naming a signer is refused naming the field, and the
        # psychiatric/medical section needs a psychiatrist's token (a case manager's may not)
        forged = {**body["sections"]["psychiatric_medical"], "signer": {"staff_id": "s-9", "role": "psychiatrist"}}
        r = http.put(f"{base}/sections/psychiatric_medical", json=forged)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "signer"]
        with stack.client("case_manager") as case_manager:
            r = case_manager.put(f"{base}/sections/psychiatric_medical", json=body["sections"]["psychiatric_medical"])
            assert r.status_code == 403 and "psychiatric_medical" in r.text and "psychiatrist" in r.text
            r = case_manager.post(f"{base}/completion", json={})
            assert r.status_code == 403 and "completing an assessment" in r.text and "may not" in r.text
        r = http.put(f"{base}/sections/psychosocial", json={**body["sections"]["psychosocial"], "shoe_size": 9})
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "shoe_size"]
        r = http.post(f"{base}/sections/psychosocial/signature", json={})
        assert r.status_code == 409 and "not been recorded" in r.text
        r = http.post(f"{base}/instruments/cssrs_screener", json={**body["instruments"]["cssrs_screener"], "q2": True})
        assert r.status_code == 422 and "q3" in r.text
        r = http.post(f"{base}/completion", json={"signer": {"staff_id": "s-1", "role": "clinician"}})
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "signer"]
        api._command(http, "PUT", f"{base}/sections/clinical_interview", body["sections"]["clinical_interview"])
        api._command(http, "POST", f"{base}/sections/clinical_interview/signature", {})
        r = http.post(f"{base}/completion", json=body["completion"])
        assert r.status_code == 422
        assert r.json()["missing_sections"] == ["psychiatric_medical", "substance_use", "psychosocial"]
        assert "section psychosocial is not signed" in r.json()["detail"]
        assert http.get(f"{intake}/assessments/asm-nothing").status_code == 404
        assert http.post(f"{intake}/assessments/asm-nothing/completion", json=body["completion"]).status_code == 404
        assert http.get(f"{intake}/participants/p-nobody/assessments").status_code == 404


def test_a_retried_request_creates_nothing_twice(stack, readers):
    reader = intake_reader(stack, readers)
    intake = stack.url("intake")
    key = {"Idempotency-Key": str(uuid.uuid4())}
    with stack.client() as http:
        first = http.post(f"{intake}/referrals", json=referral(16), headers=key)
        retry = http.post(f"{intake}/referrals", json=referral(16), headers=key)
        assert first.status_code == retry.status_code == 201 and first.json() == retry.json()
        other = http.post(f"{intake}/referrals", json=referral(17), headers=key)
        assert other.status_code == 422 and "Idempotency-Key" in other.text
        pid = first.json()["participant_id"]
        opened = [http.post(f"{intake}/participants/{pid}/assessments", json={"kind": "initial"},
                            headers={"Idempotency-Key": f"open-{pid}"}) for _ in range(2)]
        assert opened[0].json() == opened[1].json()
        assert len(http.get(f"{intake}/participants/{pid}/assessments").json()["assessments"]) == 1
    reader.wait_for(lambda rs: reader.events(pid, "referral_received.v1"), 30, "the referral")
    time.sleep(1)
    reader.poll()
    assert len(reader.events(pid, "referral_received.v1")) == 1


def test_every_request_body_has_an_example_in_the_openapi_document(stack):
    doc = httpx.get(f"{stack.url('intake')}/openapi.json").json()
    schemas = doc["components"]["schemas"]
    def model(schema: dict) -> str:  # a body the route may leave out is anyOf [the model, null]
        ref = schema.get("$ref") or next(s["$ref"] for s in schema["anyOf"] if "$ref" in s)
        return ref.split("/")[-1]

    bodies = [model(op["requestBody"]["content"]["application/json"]["schema"])
              for path in doc["paths"].values() for op in path.values() if "requestBody" in op]
    assert len(bodies) >= 15
    assert [b for b in bodies if not schemas[b].get("examples")] == []


def test_no_intake_event_carries_a_name_birth_date_contact_or_narrative(stack, readers):
    marker = uuid.uuid4().hex[:10]
    person = {"given_name": f"Given{marker}", "family_name": f"Family{marker}", "date_of_birth": "1987-06-05",
              "email": f"x{marker}@example.org", "phone": "+44 20 7946 0958"}
    body = assessment(18)
    narrative = {"symptoms": f"symptoms {marker}", "challenges": f"challenges {marker}"}
    body["sections"]["clinical_interview"] |= narrative | {"goals": [{"text": f"my own goal {marker}"}]}
    body["sections"]["psychiatric_medical"] |= {"medical_history": f"history {marker}", "medications": f"meds {marker}"}
    body["sections"]["substance_use"] |= {"history": f"use {marker}"}
    body["sections"]["psychosocial"] |= {"living_situation": f"living {marker}"}
    body["completion"] |= {"override": {"level_of_care": "2.5", "reason_code": "clinical_judgement",
                                        "note": f"note {marker}"}}
    request = {**referral(18), "participant": person, "reason": f"reason {marker}"}
    with stack.client() as http:
        pid = api.refer(http, stack.urls(), request)["participant_id"]
        api.assess(http, stack.urls(), pid, body)
    reader = intake_reader(stack, readers)
    reader.wait_for(lambda rs: "referred_out" in types_of(reader, pid), 30, "this participant's events")
    known = cohort_phi(range(30))  # every test's participants come from the same functions
    known.add_request(request)
    known.add_request(body)
    known.phrases.add(marker)
    published = [r for r in reader.records if r.headers.get("ce_source") == b"/services/intake"]
    assert len(published) > 10  # (other tests also put poison messages on this topic: not intake's events)
    for r in published:  # every event intake published this session, every test's participants
        text, doc = scannable_text(r.value, r.headers)
        assert not known.found_in(text), f"{r.headers['ce_type'].decode()} carries {known.found_in(text)}"
        assert not clear_phi_keys(doc["data"]), r.headers["ce_type"].decode()
    [done] = reader.events(pid, "assessment_completed.v1")
    [goal] = done["data"]["goals"]  # the goal's words travel, sealed
    keys = local_key_management(ContinuumSettings(data_dir=stack.data_dir))
    assert open_sealed(keys, pid, goal_field(goal["goal_id"]), SealedValue.model_validate(goal["text"])) == \
        f"my own goal {marker}"
