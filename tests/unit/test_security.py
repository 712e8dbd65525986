"""The pure parts of authentication: the role matrix, the scope, the authentication settings and
the fail-closed start rules (the token verifier: test_token_verifier.py)."""

import pytest
from pydantic import ValidationError

from services.eventing.settings import ContinuumSettings, KafkaSettings, StartRefused, refuse_plaintext_kafka
from services.security.principal import Principal
from services.security.roles import PERMISSIONS, Permission, Role, granting_role
from services.security.settings import AuthSettings
from services.security.wiring import NoIssuer, token_verifier

# --- the role matrix ---------------------------------------------------------------------


def test_every_permission_is_granted_to_some_role_and_audit_and_erasure_to_the_privacy_officer_only():
    granted = set().union(*PERMISSIONS.values())
    assert granted == set(Permission)
    for only_theirs in (Permission.AUDIT_READ, Permission.PARTICIPANT_ERASE):
        assert [r for r, ps in PERMISSIONS.items() if only_theirs in ps] == [Role.PRIVACY_OFFICER]
    assert PERMISSIONS[Role.PRIVACY_OFFICER] == {Permission.AUDIT_READ, Permission.PARTICIPANT_ERASE}


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


# --- settings and the fail-closed start rules ---------------------------------------------


def test_the_environment_is_production_unless_chosen(monkeypatch):
    monkeypatch.delenv("CONTINUUM_ENVIRONMENT", raising=False)
    assert ContinuumSettings().environment == "production" and not ContinuumSettings().is_development
    monkeypatch.setenv("CONTINUUM_ENVIRONMENT", "development")
    assert ContinuumSettings().is_development


def test_no_service_starts_without_an_issuer():
    for environment in ("production", "development"):
        with pytest.raises(NoIssuer, match="CONTINUUM_AUTH_ISSUER") as refused:
            token_verifier(ContinuumSettings(environment=environment), AuthSettings(issuer=None))
        assert isinstance(refused.value, StartRefused)
    verifier = token_verifier(ContinuumSettings(environment="production"),
                              AuthSettings(issuer="https://idp.example/realms/continuum"))
    assert verifier.issuer == "https://idp.example/realms/continuum" and verifier.keys.held == (), "nothing fetched"


def test_the_issuer_is_https_except_on_loopback_and_the_leeway_is_bounded():
    assert AuthSettings(issuer="http://127.0.0.1:8080/realms/continuum").issuer.startswith("http://127.0.0.1")
    for bad in ("http://idp.example/realms/continuum", "idp.example", "ftp://idp.example"):
        with pytest.raises(ValidationError, match="issuer"):
            AuthSettings(issuer=bad)
    assert AuthSettings(leeway_seconds=120).leeway_seconds == 120
    for bad in (-1, 121):
        with pytest.raises(ValidationError):
            AuthSettings(leeway_seconds=bad)


@pytest.mark.parametrize("protocol", ["PLAINTEXT", "SASL_PLAINTEXT"])
def test_plaintext_kafka_is_refused_outside_development_unless_allowed(protocol):
    kafka = KafkaSettings(security_protocol=protocol)
    with pytest.raises(StartRefused, match="CONTINUUM_KAFKA_ALLOW_PLAINTEXT"):
        refuse_plaintext_kafka(ContinuumSettings(environment="production"), kafka)
    refuse_plaintext_kafka(ContinuumSettings(environment="production", kafka_allow_plaintext=True), kafka)
    refuse_plaintext_kafka(ContinuumSettings(environment="development"), kafka)
    refuse_plaintext_kafka(ContinuumSettings(environment="test"), kafka)
    for secured in ("SSL", "SASL_SSL"):
        refuse_plaintext_kafka(ContinuumSettings(environment="production"), KafkaSettings(security_protocol=secured))
