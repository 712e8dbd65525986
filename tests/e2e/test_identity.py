"""Identity on the whole stack with Keycloak running (issue 14): a token from Keycloak for every
role is let in exactly as the role table says; tokens an attacker could make, and real ones that
are expired or for another application, are refused with 401; the services keep verifying while
Keycloak is down and carry on when it is back."""

import json

import httpx
import pytest

from deploy import api_client as api
from deploy.demo_cohort import assessment, referral
from deploy.identity_client import IdentityUnavailable, subject_of
from deploy.keycloak_runner import DEMO_PROGRAMS, DEMO_TENANT
from services.contracts.topics import events_topic
from services.security.roles import PERMISSIONS, Permission, Role
from tests.support import forged_tokens as forged
from tests.support.waiting import poll

from .trust_support import expired_token, take_through_care

pytestmark = pytest.mark.e2e

SERVICES = ("intake", "planning", "scheduling", "aftercare")
NOBODY = "p-nobody-0000"
# one participant-scoped read per service and the permission it needs (404: no such participant)
READS = {"intake": (f"/participants/{NOBODY}", Permission.PARTICIPANT_READ),
         "planning": (f"/participants/{NOBODY}/plan", Permission.PLAN_READ),
         "scheduling": (f"/participants/{NOBODY}/sessions", Permission.SESSIONS_READ),
         "aftercare": (f"/participants/{NOBODY}/aftercare", Permission.AFTERCARE_READ)}


def _read(stack, service: str, token: str) -> httpx.Response:
    path, _ = READS[service]
    return httpx.get(stack.url(service) + path, headers={"Authorization": f"Bearer {token}"}, timeout=30)


def test_a_keycloak_token_for_every_role_is_let_in_as_the_role_table_says(stack):
    for role in Role:
        token = stack.identity.token(role, DEMO_TENANT, DEMO_PROGRAMS,
                                     participant_id=NOBODY if role is Role.PARTICIPANT else None)
        claims = forged.claims_of(token)
        assert claims["iss"] == stack.identity.issuer and forged.header_of(token)["alg"] == "RS256"
        for service in SERVICES:
            permission = READS[service][1]
            expected = 404 if permission in PERMISSIONS[role] else 403
            r = _read(stack, service, token)
            assert r.status_code == expected, (role, service, r.status_code, r.text)


def test_forged_expired_and_foreign_audience_tokens_are_refused_with_401(stack):
    real = stack.identity.token(Role.CLINICIAN, DEMO_TENANT, DEMO_PROGRAMS, subject="identity-clinician")
    for service in SERVICES:
        assert _read(stack, service, real).status_code == 404, "the real token is accepted"
    bad = {
        "self-signed, right claims and kid": forged.self_signed(real),
        "HS256 signed with the provider's public key": forged.hs256_with_public_key(real, stack.identity.issuer),
        "alg none": forged.unsigned(real),
        "another issuer": forged.self_signed(real, iss="http://127.0.0.1:1/realms/continuum"),
        "another audience (signed by Keycloak)": forged.other_audience_token(
            stack.identity, [Role.CLINICIAN], DEMO_TENANT, DEMO_PROGRAMS),
        "expired (signed by Keycloak)": expired_token(stack, [Role.CLINICIAN]),
    }
    assert "continuum-api" not in str(forged.claims_of(bad["another audience (signed by Keycloak)"])["aud"])
    for name, token in bad.items():
        for service in SERVICES:
            r = _read(stack, service, token)
            assert r.status_code == 401, (name, service, r.status_code, r.text)
            assert 'error="invalid_token"' in r.headers["www-authenticate"], (name, r.headers)


def test_the_demo_users_sign_in_with_the_passwords_generated_for_this_data_dir(stack):
    users = json.loads(stack.keycloak.demo_users_file.read_text())["users"]
    assert {u["roles"][0] for u in users} >= {"clinician", "psychiatrist", "scheduler"}, "the demo network's people"
    first = users[0]
    token = stack.identity.password_token(first["username"], first["password"])
    assert forged.claims_of(token)["tenant"] == DEMO_TENANT
    with pytest.raises(PermissionError):
        stack.identity.password_token(first["username"], first["password"] + "-wrong")


def test_with_keycloak_stopped_held_keys_keep_verifying_and_new_sign_ins_fail_clearly(stack):
    held = stack.identity.token(Role.CASE_MANAGER, DEMO_TENANT, DEMO_PROGRAMS, subject="identity-outage")
    for service in SERVICES:
        assert _read(stack, service, held).status_code == 404
    stack.stop_identity()
    try:
        for service in SERVICES:
            assert _read(stack, service, held).status_code == 404, "a token signed with a held key still verifies"
            # an unknown key id makes the service try to refresh its keys: Keycloak is down, so 401, never a 500
            assert _read(stack, service, forged.self_signed(held, kid="not-a-known-kid")).status_code == 401
            assert _read(stack, service, forged.self_signed(held)).status_code == 401
        stack.identity.clear()
        with pytest.raises(IdentityUnavailable, match="does not answer"):
            stack.identity.token(Role.CASE_MANAGER, DEMO_TENANT, DEMO_PROGRAMS, subject="identity-outage")
        for service in SERVICES:  # the services themselves are fine
            assert httpx.get(f"{stack.url(service)}/health", timeout=10).status_code == 200
    finally:
        stack.start_identity()
    fresh = stack.identity.token(Role.CASE_MANAGER, DEMO_TENANT, DEMO_PROGRAMS, subject="identity-outage")
    assert subject_of(fresh) == subject_of(held), "the same person after the restart"
    for service in SERVICES:
        assert _read(stack, service, fresh).status_code == 404


# -- who acts is the token: forged actors refused, the real subject recorded everywhere ---------------

def _as(stack, role, subject: str, **kw) -> httpx.Client:
    return stack.client(role, subject=subject, **kw)


def test_forged_actors_are_refused_and_records_audit_and_events_name_the_real_subject(stack, readers):
    urls, tenant = stack.urls(), DEMO_TENANT
    idp = stack.identity
    people = {"clinician": "id-clin-1", "psychiatrist": "id-psy-1", "case_manager": "id-cm-1"}
    subs = {role: subject_of(idp.token(role, tenant, DEMO_PROGRAMS, subject=name)) for role, name in people.items()}
    reader = readers(events_topic("intake", stack.config.topic_prefix), events_topic("planning",
                                                                                    stack.config.topic_prefix))
    a = assessment(41)
    with _as(stack, "clinician", people["clinician"]) as clin, \
            _as(stack, "psychiatrist", people["psychiatrist"]) as psy, \
            _as(stack, "case_manager", people["case_manager"]) as cm:
        pid = api.refer(clin, urls, referral(41))["participant_id"]
        aid = clin.post(f"{urls.intake}/participants/{pid}/assessments",
                        json={"kind": "initial"}).json()["assessment_id"]
        base = f"{urls.intake}/assessments/{aid}"
        # a body naming a signer: 422 naming the field (was: sign as anyone, a psychiatrist among them)
        forged_body = {**a["sections"]["psychiatric_medical"], "signer": {"staff_id": "staff-psy-2",
                                                                           "role": "psychiatrist"}}
        r = cm.put(f"{base}/sections/psychiatric_medical", json=forged_body)
        assert r.status_code == 422 and "signer" in r.text, r.text
        # the case manager's own token may not record or sign the psychiatric/medical section
        r = cm.put(f"{base}/sections/psychiatric_medical", json=a["sections"]["psychiatric_medical"])
        assert r.status_code == 403, r.text
        by = {"clinical_interview": clin, "psychiatric_medical": psy, "substance_use": clin, "psychosocial": cm}
        for section, content in a["sections"].items():
            assert by[section].put(f"{base}/sections/{section}", json=content).status_code < 300
            r = by[section].post(f"{base}/sections/{section}/signature", json={})
            assert r.status_code < 300, r.text
        for instrument, answers in a["instruments"].items():
            assert psy.post(f"{base}/instruments/{instrument}", json=answers).status_code < 300
        r = cm.post(f"{base}/completion", json=a["completion"])
        assert r.status_code == 403, "a case manager does not complete an assessment"
        outcome = clin.post(f"{base}/completion", json=a["completion"]).json()
        assert outcome["completed_by"] == {"id": subs["clinician"], "role": "clinician"}
        sections = {s["section"]: s for s in clin.get(base).json()["sections"]}
        assert {name: s["signed_by"] for name, s in sections.items()} == {
            "clinical_interview": subs["clinician"], "psychiatric_medical": subs["psychiatrist"],
            "substance_use": subs["clinician"], "psychosocial": subs["case_manager"]}
        assert sections["psychiatric_medical"]["signed_role"] == "psychiatrist"

        plan = poll(lambda: api.plan(clin, urls, pid), 60, "a plan")["plan"]
        signatures = f"{urls.planning}/plans/{plan['plan_id']}/versions/{plan['plan_version']}/signatures"
        r = clin.post(signatures, json={"role": "participant"})
        assert r.status_code == 403, "a clinician's token never gives the participant's own signature"
        r = clin.post(signatures, json={"role": "clinician", "signer_id": "someone-else"})
        assert r.status_code == 422 and "signer_id" in r.text
        assert clin.post(signatures, json={"role": "clinician"}).status_code == 201
        r = clin.post(f"{urls.intake}/safety-flags/f-1/resolution",
                      json={"action_taken": "safety_plan", "resolved_by": "staff-9"})
        assert r.status_code == 422 and "resolved_by" in r.text, r.text

    # the participant signs in their own session (role participant, their participant_id)
    with _as(stack, "participant", f"id-participant-{pid}", participant_id=pid, programs=["adult-mh"]) as me:
        own = me.post(f"{urls.planning}/me/plans/{plan['plan_id']}/versions/{plan['plan_version']}/signature", json={})
        assert own.status_code == 201, own.text
        other = me.get(f"{urls.planning}/participants/{pid}/plan")
        assert other.status_code == 403, "the participant reads only /me/plan"
    recorded = api.plan(stack.client("clinician", subject=people["clinician"]), urls, pid)["signatures"]
    assert {(s["role"], s["recorded_by"]["id"]) for s in recorded} >= {
        ("clinician", subs["clinician"]),
        ("participant", subject_of(idp.token("participant", tenant, ["adult-mh"],
                                             subject=f"id-participant-{pid}", participant_id=pid)))}

    # by key and type header first: the topic also holds other tests' poison records, never parsed here
    reader.wait_for(lambda rs: reader.events(pid, "assessment_completed.v1"), 60, "AssessmentCompleted")
    event = reader.events(pid, "assessment_completed.v1")[0]
    assert event["data"]["completed_by"] == {"id": subs["clinician"], "role": "clinician"}
    with stack.client("privacy_officer", subject="id-privacy-1") as http:
        rows = http.get(f"{urls.intake}/audit", params={"participant_id": pid}).json()["entries"]
    signers = {(row["subject"], row["role"]) for row in rows if row["outcome"] == "success"}
    assert {(subs["clinician"], "clinician"), (subs["psychiatrist"], "psychiatrist"),
            (subs["case_manager"], "case_manager")} <= signers
    assert not {row["subject"] for row in rows} & set(people.values()), "audit rows name Keycloak subjects"


# -- the flow server: its own client-credentials token, its own aftercare address ------------------------

def _flow_run_logs(stack, run_id: str) -> str:
    r = httpx.post(f"{stack.prefect.api_url}/logs/filter", auth=stack.prefect.auth, timeout=15,
                   json={"logs": {"flow_run_id": {"any_": [run_id]}}, "limit": 200})
    return "\n".join(x["message"] for x in r.json())


def test_the_flow_server_acts_with_its_own_identity_and_a_run_cannot_redirect_or_cross_tenants(stack):
    from workflows.follow_up import DEPLOYMENT_PATH, STEP_OPEN

    journey = take_through_care(stack, 43, subject="id-flow-care")
    workflow_sub = stack.identity.user_id("service-account-continuum-workflow")
    assert workflow_sub, "the flow server's client has a service account in the realm"
    with stack.client("privacy_officer", subject="id-privacy-2") as http:
        rows = poll(lambda: [row for row in http.get(f"{stack.url('aftercare')}/audit", params={
            "participant_id": journey.participant_id}).json()["entries"] if row["role"] == "workflow"], 120,
                    "the flow server's first call in aftercare's audit trail")
    assert {row["subject"] for row in rows} == {workflow_sub}, "the flow server's calls are its own identity's"

    with stack.client("clinician", subject="id-flow-care") as http:
        before = api.aftercare(http, stack.urls(), journey.participant_id)
    prefect = httpx.Client(base_url=stack.prefect.api_url, auth=stack.prefect.auth, timeout=15)
    flow_name, deployment_name = DEPLOYMENT_PATH.split("/")
    deployment = prefect.get(f"/deployments/name/{flow_name}/{deployment_name}").json()
    run = prefect.post(f"/deployments/{deployment['id']}/create_flow_run", json={"parameters": {
        "follow_up_id": journey.follow_up_id, "participant_id": journey.participant_id, "step": STEP_OPEN,
        "tenant_id": "other-network", "aftercare_url": "http://127.0.0.1:9/elsewhere"}}).json()
    try:
        logs = poll(lambda: (text := _flow_run_logs(stack, run["id"])) and "404" in text and text, 120,
                    "the run's first attempt refused by aftercare")
        assert "ignoring the run's aftercare_url parameter" in logs, logs
        aftercare_log = (stack.data_dir / "logs" / "aftercare.log").read_text()
        assert "follow_up.run_refused" in aftercare_log and journey.follow_up_id in aftercare_log
    finally:
        prefect.post(f"/flow_runs/{run['id']}/set_state", json={"state": {"type": "CANCELLED"}, "force": True})
    with stack.client("clinician", subject="id-flow-care") as http:
        after = api.aftercare(http, stack.urls(), journey.participant_id)
    mine = {f["follow_up_id"]: f for f in before["follow_ups"]}[journey.follow_up_id]
    assert {f["follow_up_id"]: f for f in after["follow_ups"]}[journey.follow_up_id]["status"] == mine["status"], \
        "the other tenant's run changed nothing"
