"""The pure parts of authentication: the role matrix, token validation and the signing-key rules."""

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from services.security.principal import Principal
from services.security.roles import PERMISSIONS, Permission, Role, granting_role
from services.security.settings import AuthSettings
from services.security.signing_key import (
    DEV_KEY_PREFIX,
    SigningKeyRefused,
    dev_key_path,
    ensure_dev_key,
    load_signing_key,
)
from services.security.tokens import InvalidToken, issue_token, read_token

KEY = "k" * 40
CLAIMS = {"subject": "u-1", "roles": ["clinician"], "tenant": "t-a", "programs": ["adult-mh"],
          "issuer": "continuum", "audience": "continuum-api"}


def read(token: str, key: str = KEY, issuer: str = "continuum", audience: str = "continuum-api") -> Principal:
    return read_token(token, key, issuer=issuer, audience=audience, leeway_s=0)


# --- the role matrix ---------------------------------------------------------------------


def test_every_permission_is_granted_to_some_role_and_audit_to_the_privacy_officer_only():
    granted = set().union(*PERMISSIONS.values())
    assert granted == set(Permission)
    assert [r for r, ps in PERMISSIONS.items() if Permission.AUDIT_READ in ps] == [Role.PRIVACY_OFFICER]
    assert PERMISSIONS[Role.PRIVACY_OFFICER] == {Permission.AUDIT_READ}


def test_a_scheduler_handles_sessions_but_reads_no_assessment_or_plan():
    s = PERMISSIONS[Role.SCHEDULER]
    assert {Permission.SESSIONS_READ, Permission.ATTENDANCE_WRITE, Permission.STAFFING_WRITE} <= s
    assert not s & {Permission.ASSESSMENT_READ, Permission.ASSESSMENT_WRITE, Permission.PLAN_READ,
                    Permission.AFTERCARE_READ, Permission.PARTICIPANT_READ}


def test_operations_reads_aggregates_only_and_integration_clients_ids_and_codes():
    assert PERMISSIONS[Role.OPERATIONS] == {Permission.DASHBOARD_READ, Permission.MEASURES_READ}
    assert PERMISSIONS[Role.INTEGRATION_CLIENT] == {Permission.REFERRAL_CREATE, Permission.PARTICIPANT_READ}
    assert PERMISSIONS[Role.WORKFLOW] == {Permission.FOLLOW_UP_RUN}


def test_clinicians_and_psychiatrists_assess_and_plan():
    for role in (Role.CLINICIAN, Role.PSYCHIATRIST):
        assert {Permission.ASSESSMENT_WRITE, Permission.PLAN_WRITE, Permission.PLAN_READ} <= PERMISSIONS[role]
    assert Permission.PLAN_WRITE not in PERMISSIONS[Role.CASE_MANAGER]


def test_the_first_granting_role_is_the_one_recorded_and_unknown_roles_grant_nothing():
    assert granting_role(("scheduler", "clinician"), Permission.ATTENDANCE_WRITE) is Role.SCHEDULER
    assert granting_role(("scheduler", "clinician"), Permission.PLAN_WRITE) is Role.CLINICIAN
    assert granting_role(("superuser", "admin"), Permission.PLAN_READ) is None
    assert granting_role((), Permission.PLAN_READ) is None


def test_scope_is_one_tenant_and_some_programs():
    p = Principal("u", ("clinician",), "t-a", ("adult-mh",))
    assert p.in_scope("t-a", "adult-mh")
    assert not p.in_scope("t-b", "adult-mh")
    assert not p.in_scope("t-a", "adolescent")
    assert not p.in_scope(None, None)


# --- tokens ------------------------------------------------------------------------------


def test_a_token_round_trips_its_principal():
    p = read(issue_token(KEY, **CLAIMS))
    assert p == Principal("u-1", ("clinician",), "t-a", ("adult-mh",))


def test_an_expired_token_is_refused():
    old = datetime.now(UTC) - timedelta(hours=2)
    with pytest.raises(InvalidToken, match="expired"):
        read(issue_token(KEY, **CLAIMS, lifetime=timedelta(minutes=5), now=old))


@pytest.mark.parametrize("change", [{"key": "x" * 40}, {"issuer": "someone-else"}, {"audience": "another-api"}])
def test_a_token_for_another_key_issuer_or_audience_is_refused(change):
    with pytest.raises(InvalidToken):
        read(issue_token(KEY, **CLAIMS), **change)


def test_a_token_without_tenant_or_with_malformed_claims_is_refused():
    now = datetime.now(UTC)
    base = {"sub": "u", "roles": ["clinician"], "programs": ["adult-mh"], "iss": "continuum",
            "aud": "continuum-api", "iat": now, "exp": now + timedelta(minutes=5)}
    with pytest.raises(InvalidToken):
        read(jwt.encode(base, KEY, algorithm="HS256"))  # no tenant
    with pytest.raises(InvalidToken, match="malformed"):
        read(jwt.encode({**base, "tenant": "t-a", "roles": "clinician"}, KEY, algorithm="HS256"))


def test_an_unsigned_or_differently_signed_token_is_refused():
    now = datetime.now(UTC)
    claims = {"sub": "u", "roles": ["clinician"], "tenant": "t", "programs": [], "iss": "continuum",
              "aud": "continuum-api", "iat": now, "exp": now + timedelta(minutes=5)}
    with pytest.raises(InvalidToken):
        read(jwt.encode(claims, None, algorithm="none"))
    with pytest.raises(InvalidToken):
        read(jwt.encode(claims, KEY, algorithm="HS512"))
    with pytest.raises(InvalidToken):
        read("not-a-token")


# --- the signing key ---------------------------------------------------------------------


def test_development_generates_one_key_in_the_data_dir_shared_by_every_process(tmp_path):
    first = load_signing_key(AuthSettings(), "development", tmp_path)
    assert first.startswith(DEV_KEY_PREFIX) and len(first) > 60
    assert load_signing_key(AuthSettings(), "test", tmp_path) == first == ensure_dev_key(tmp_path)
    assert dev_key_path(tmp_path).stat().st_mode & 0o077 == 0, "readable by its owner only"
    assert list(dev_key_path(tmp_path).parent.iterdir()) == [dev_key_path(tmp_path)], "no candidate left behind"


def test_production_refuses_a_missing_short_or_development_key(tmp_path):
    with pytest.raises(SigningKeyRefused, match="CONTINUUM_AUTH_SIGNING_KEY"):
        load_signing_key(AuthSettings(), "production", tmp_path)
    assert not dev_key_path(tmp_path).exists(), "no development key generated outside development"
    with pytest.raises(SigningKeyRefused, match="shorter"):
        load_signing_key(AuthSettings(signing_key="changethis"), "production", tmp_path)
    with pytest.raises(SigningKeyRefused, match="development key"):
        load_signing_key(AuthSettings(signing_key=ensure_dev_key(tmp_path)), "production", tmp_path)
    with pytest.raises(SigningKeyRefused, match="cannot be read"):
        load_signing_key(AuthSettings(signing_key_file=tmp_path / "absent"), "production", tmp_path)


def test_production_takes_the_configured_key_or_key_file(tmp_path):
    secret = "s" * 48
    assert load_signing_key(AuthSettings(signing_key=secret), "production", tmp_path) == secret
    (tmp_path / "key").write_text(secret + "\n")
    assert load_signing_key(AuthSettings(signing_key_file=tmp_path / "key"), "production", tmp_path) == secret
