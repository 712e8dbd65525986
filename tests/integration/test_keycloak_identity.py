"""Keycloak, the identity provider of `make run` and the tests, for real: the tokens it issues
carry what the services read (issuer, audience, realm roles, tenant, programs, a UUID subject,
RS256 with a key id), the flow server's client credentials carry the workflow role, the
dashboard's client requires PKCE S256, and a restart keeps the realm, its users and its keys.
No password or secret is in the repository; the files holding them are 0600."""

import json
import stat
import subprocess
import uuid
from pathlib import Path

import httpx
import pytest

from deploy.identity_client import IdentityUnavailable
from deploy.keycloak_runner import DEMO_PROGRAMS, DEMO_TENANT, STAFF_ROLES, demo_username
from services.security.roles import Role

ROOT = Path(__file__).resolve().parents[2]


def test_a_token_carries_the_roles_tenant_and_programs_asked_for(identity):
    token = identity.token(["clinician", "case_manager"], "tenant-kc", ["adult-mh", "adolescent"],
                           subject="kc-clinician-1")
    claims, header = identity.claims_of(token), identity.header_of(token)
    assert header["alg"] == "RS256" and header["kid"]
    assert claims["iss"] == identity.issuer
    audience = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    assert "continuum-api" in audience
    assert sorted(claims["realm_access"]["roles"]) == ["case_manager", "clinician"]  # nothing but what was asked
    assert claims["tenant"] == "tenant-kc"
    assert claims["programs"] == ["adult-mh", "adolescent"]
    assert "participant_id" not in claims
    assert str(uuid.UUID(claims["sub"])) == claims["sub"] == identity.subject_of(token)
    assert claims["exp"] - claims["iat"] == 30 * 60
    assert header["kid"] in {k["kid"] for k in httpx.get(identity.jwks_uri).json()["keys"]}


def test_one_program_is_still_a_list_and_the_same_subject_is_the_same_person(identity):
    first = identity.token("scheduler", "tenant-kc", ["substance-use"], subject="kc-sched-1")
    assert identity.claims_of(first)["programs"] == ["substance-use"]
    identity.clear()  # a new sign-in, not the cached token
    again = identity.token("scheduler", "tenant-kc", ["substance-use"], subject="kc-sched-1")
    assert again != first and identity.subject_of(again) == identity.subject_of(first)
    changed = identity.token(["scheduler", "operations"], "tenant-kc", ["substance-use"], subject="kc-sched-1")
    assert sorted(identity.claims_of(changed)["realm_access"]["roles"]) == ["operations", "scheduler"]
    assert identity.subject_of(changed) == identity.subject_of(first)
    anonymous = identity.token("scheduler", "tenant-kc", ["substance-use"])  # a user of its own per scope
    assert identity.subject_of(anonymous) != identity.subject_of(first)


def test_tokens_are_cached_until_they_near_their_end(identity):
    token = identity.token("operations", "tenant-kc", ["adult-mh"], subject="kc-ops-cache")
    assert identity.token("operations", "tenant-kc", ["adult-mh"], subject="kc-ops-cache") == token


def test_a_participant_token_names_the_participant(identity):
    claims = identity.claims_of(identity.token("participant", "tenant-kc", ["adult-mh"], participant_id="p-kc-1"))
    assert claims["realm_access"]["roles"] == ["participant"]
    assert claims["participant_id"] == "p-kc-1"


def test_every_role_of_the_code_is_a_realm_role(identity):
    identity.token("clinician", "tenant-kc", ["adult-mh"], subject="kc-roles")  # the admin token is warm
    realm_roles = {r["name"] for r in identity._admin_call("GET", "/roles").json()}
    assert {r.value for r in Role} <= realm_roles
    with pytest.raises(ValueError, match="no such realm role"):
        identity.token("superuser", "tenant-kc", ["adult-mh"])


def test_the_flow_server_signs_in_with_client_credentials_as_workflow(identity, identity_server):
    token = identity.client_credentials("continuum-workflow", identity_server.workflow_secret)
    claims = identity.claims_of(token)
    assert claims["realm_access"]["roles"] == ["workflow"]
    assert claims["azp"] == "continuum-workflow" and claims["iss"] == identity.issuer
    assert "continuum-api" in (claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]])
    assert "tenant" not in claims
    with pytest.raises(PermissionError):
        identity.client_credentials("continuum-workflow", "not-the-secret")
    with pytest.raises(PermissionError):  # the public clients have no service account
        identity.client_credentials("continuum-scripts", "anything")


def test_the_dashboard_client_requires_pkce_s256(identity):
    identity.token("operations", "tenant-kc", ["adult-mh"], subject="kc-pkce")
    dashboard = identity._admin_call("GET", "/clients", params={"clientId": "continuum-dashboard"}).json()[0]
    assert dashboard["publicClient"] and dashboard["standardFlowEnabled"]
    assert not dashboard["directAccessGrantsEnabled"]
    assert dashboard["attributes"]["pkce.code.challenge.method"] == "S256"
    auth = f"{identity.issuer}/protocol/openid-connect/auth"
    # the dashboard's address as registered (a stack narrows it to its own dashboard when it starts)
    registered = dashboard["redirectUris"][0].replace(":*", ":8105/").rstrip("*")
    query = {"client_id": "continuum-dashboard", "response_type": "code", "scope": "openid",
             "redirect_uri": registered, "state": "s1"}
    without = httpx.get(auth, params=query)
    assert without.status_code == 302 and "error=invalid_request" in without.headers["location"]
    plain = httpx.get(auth, params={**query, "code_challenge": "x" * 43, "code_challenge_method": "plain"})
    assert plain.status_code == 302 and "error=invalid_request" in plain.headers["location"]
    with_s256 = httpx.get(auth, params={**query, "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                                        "code_challenge_method": "S256"})
    assert with_s256.status_code == 200 and "kc-form-login" in with_s256.text  # the sign-in page
    elsewhere = httpx.get(auth, params={**query, "redirect_uri": "https://evil.example/",
                                        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                                        "code_challenge_method": "S256"})
    assert elsewhere.status_code == 400  # an unregistered redirect: no code leaves for it


def test_demo_users_sign_in_with_their_generated_passwords(identity, identity_server):
    users = {u["username"]: u for u in json.loads(identity_server.demo_users_file.read_text())["users"]}
    assert set(users) == {demo_username(r) for r in STAFF_ROLES}
    clinician = users["demo-clinician"]
    claims = identity.claims_of(identity.password_token("demo-clinician", clinician["password"]))
    assert claims["realm_access"]["roles"] == ["clinician"]
    assert claims["tenant"] == DEMO_TENANT and claims["programs"] == list(DEMO_PROGRAMS)
    with pytest.raises(PermissionError):
        identity.password_token("demo-clinician", "wrong-password")


def test_secrets_are_generated_per_data_dir_private_and_not_in_the_repository(identity_server):
    identity_dir = identity_server.data_dir
    files = [identity_dir / "admin-password", identity_dir / "workflow-client-secret",
             identity_dir / "demo-users.json", identity_dir / "import" / "continuum-realm.json",
             identity_dir / "keycloak.json"]
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE(identity_dir.stat().st_mode) == 0o700
    secrets = [identity_server.admin_password, identity_server.workflow_secret,
               *(u["password"] for u in json.loads(identity_server.demo_users_file.read_text())["users"])]
    for secret in secrets:
        assert len(secret) >= 16
        found = subprocess.run(["git", "grep", "-F", "-l", "-e", secret], cwd=ROOT, capture_output=True, text=True)
        assert found.returncode == 1 and not found.stdout, f"a generated secret is in the repository: {found.stdout}"
    template = (ROOT / "deploy" / "keycloak" / "continuum-realm.json").read_text()
    assert "${workflow_secret}" in template and identity_server.workflow_secret not in template


def test_a_restart_keeps_the_realm_its_users_and_its_keys(identity, identity_server):
    before = identity.token(["clinician"], "tenant-kc", ["adult-mh"], subject="kc-restart")
    kid = identity.header_of(before)["kid"]
    keys_before = {k["kid"] for k in httpx.get(identity.jwks_uri).json()["keys"]}
    identity_server.stop()
    try:
        identity.clear()
        with pytest.raises(IdentityUnavailable, match="does not answer"):  # new sign-ins fail, clearly
            identity.token(["clinician"], "tenant-kc", ["adult-mh"], subject="kc-restart")
    finally:
        identity_server.start()
    assert {k["kid"] for k in httpx.get(identity.jwks_uri).json()["keys"]} == keys_before
    after = identity.token(["clinician"], "tenant-kc", ["adult-mh"], subject="kc-restart")
    assert identity.header_of(after)["kid"] == kid
    assert identity.subject_of(after) == identity.subject_of(before)  # the same user, not a new one
    demo = json.loads(identity_server.demo_users_file.read_text())["users"][0]
    assert identity.password_token(demo["username"], demo["password"])
    assert identity_server.log_file.read_text().count("continuum: realm continuum imported") == 1  # not again


def test_scripts_and_the_stack_ask_keycloak(identity, identity_server, stack_config):
    """api_client finds the running Keycloak from the data dir; every request carries a current token."""
    from deploy import api_client
    from deploy.stack import Stack

    seen = []
    transport = httpx.MockTransport(lambda request: seen.append(request.headers["authorization"])
                                    or httpx.Response(200, json={}))
    with api_client.client("care_coordinator", subject="kc-script", data_dir=stack_config.data_dir,
                           transport=transport) as http:
        http.get("http://intake.invalid/health")
    claims = identity.claims_of(seen[0].removeprefix("Bearer "))
    assert claims["realm_access"]["roles"] == ["care_coordinator"] and claims["tenant"] == DEMO_TENANT
    stack = Stack(stack_config)
    stack.use_identity(identity_server)
    env = stack.service_env()
    assert env["CONTINUUM_ENVIRONMENT"] == "development"
    assert env["CONTINUUM_AUTH_ISSUER"] == identity.issuer == identity_server.issuer
    assert env["CONTINUUM_WORKFLOW_CLIENT_ID"] == "continuum-workflow"
    assert env["CONTINUUM_WORKFLOW_CLIENT_SECRET"] == identity_server.workflow_secret
    assert env["CONTINUUM_WORKFLOW_AFTERCARE_URL"] == stack.url("aftercare")
    headers = stack.auth_headers("workflow", subject="kc-stack-workflow")
    assert identity.claims_of(headers["Authorization"].removeprefix("Bearer "))["realm_access"]["roles"] == ["workflow"]
