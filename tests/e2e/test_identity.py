"""Identity on the whole stack with Keycloak running (issue 14): a token from Keycloak for every
role is let in exactly as the role table says; tokens an attacker could make, and real ones that
are expired or for another application, are refused with 401; the services keep verifying while
Keycloak is down and carry on when it is back."""

import json

import httpx
import pytest

from deploy.identity_client import IdentityUnavailable, subject_of
from deploy.keycloak_runner import DEMO_PROGRAMS, DEMO_TENANT
from services.security.roles import PERMISSIONS, Permission, Role
from tests.support import forged_tokens as forged

from .trust_support import expired_token

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
