"""A service fails closed: started without ``CONTINUUM_ENVIRONMENT`` it runs as production,
refuses to start without a token issuer, over plaintext Kafka unless that is explicitly allowed,
or without a provisioned privacy master key, saying why, before it touches Kafka or its
database. Started with an issuer it serves no ``/dev/token``, and starts while the identity
provider is down (tokens are refused with a clear reason until it answers)."""

import base64
import os
import subprocess
import sys

import httpx
import pytest

from deploy.processes import free_port, wait_until

pytestmark = pytest.mark.integration

ISSUER = "http://127.0.0.1:9/realms/continuum"  # nobody answers there: the identity provider is down


def clean_env(tmp_path, **env) -> dict[str, str]:
    """The test's environment without the deployment's choices (no environment, issuer, keys)."""
    inherited = {k: v for k, v in os.environ.items()
                 if not k.startswith(("CONTINUUM_", "KAFKA_", "PREFECT_API_KEY"))}
    return {**inherited, "CONTINUUM_DATA_DIR": str(tmp_path), "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9", **env}


def start(tmp_path, service: str = "intake", **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", f"services.{service}"], capture_output=True, text=True, timeout=120,
                          env=clean_env(tmp_path, **env))


def refused(done: subprocess.CompletedProcess, reason: str) -> None:
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("refusing to start:") and reason in done.stderr, done.stderr


@pytest.mark.parametrize("service", ["intake", "operations"])
def test_without_an_environment_a_service_refuses_to_start_without_an_issuer(tmp_path, service):
    refused(start(tmp_path, service), "no token issuer: set CONTINUUM_AUTH_ISSUER")
    assert "CONTINUUM_ENVIRONMENT=production" in start(tmp_path, service).stderr
    assert not list(tmp_path.glob("*.db")), "nothing written"


def test_a_malformed_issuer_is_refused(tmp_path):
    refused(start(tmp_path, CONTINUUM_AUTH_ISSUER="http://idp.example/realms/continuum"),
            "CONTINUUM_AUTH_ISSUER: Value error, issuer: http only on loopback")


def test_plaintext_kafka_is_refused_outside_development_unless_allowed(tmp_path):
    refused(start(tmp_path, CONTINUUM_AUTH_ISSUER=ISSUER), "Kafka without TLS (KAFKA_SECURITY_PROTOCOL=PLAINTEXT)")
    refused(start(tmp_path, CONTINUUM_AUTH_ISSUER=ISSUER, KAFKA_SECURITY_PROTOCOL="SASL_PLAINTEXT"),
            "CONTINUUM_KAFKA_ALLOW_PLAINTEXT=true")
    assert not (tmp_path / "intake.db").exists()


def test_plain_reminder_mail_is_refused_outside_development(tmp_path):
    done = start(tmp_path, "aftercare", CONTINUUM_AUTH_ISSUER=ISSUER, CONTINUUM_KAFKA_ALLOW_PLAINTEXT="true",
                 CONTINUUM_AFTERCARE_SMTP_HOST="127.0.0.1", CONTINUUM_AFTERCARE_SMTP_SECURITY="plain")
    refused(done, "reminder mail without TLS")


PRODUCTION = {"CONTINUUM_AUTH_ISSUER": ISSUER, "CONTINUUM_KAFKA_ALLOW_PLAINTEXT": "true"}


def master_key(tmp_path, mode: int = 0o600) -> str:
    path = tmp_path / "provisioned" / "master.key"
    path.parent.mkdir()
    path.write_text(base64.b64encode(os.urandom(32)).decode())
    path.chmod(mode)
    return str(path)


@pytest.mark.parametrize("mode, reason", [(None, "no master key"), (0o644, "readable by others")])
def test_production_without_a_provisioned_master_key_refuses_to_start(tmp_path, mode, reason):
    env = dict(PRODUCTION)
    if mode:
        env["CONTINUUM_PRIVACY_MASTER_KEY_FILE"] = master_key(tmp_path, mode)
    refused(start(tmp_path, **env), reason)
    assert not (tmp_path / "keys").exists() and not (tmp_path / "intake.db").exists()


def test_production_with_an_issuer_and_a_master_key_gets_past_the_checks(tmp_path):
    done = start(tmp_path, **PRODUCTION, CONTINUUM_PRIVACY_MASTER_KEY_FILE=master_key(tmp_path))
    assert done.returncode == 2 and "Kafka is unreachable" in done.stderr, done.stderr  # the next check
    assert not (tmp_path / "auth").exists(), "no key generated"


def test_a_service_with_an_issuer_serves_no_dev_token_and_starts_while_the_identity_provider_is_down(
        kafka_stack, tmp_path):
    port = free_port()
    env = clean_env(tmp_path, **PRODUCTION, KAFKA_BOOTSTRAP_SERVERS=kafka_stack.bootstrap,
                    CONTINUUM_TOPIC_PREFIX=kafka_stack.config.topic_prefix, CONTINUUM_OPERATIONS_HTTP_PORT=str(port))
    log = tmp_path / "operations.log"
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "services.operations"], env=env, stdout=out,
                                stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: httpx.get(f"{base}/health", timeout=2).status_code == 200, 120, "operations", proc, log)
        assert httpx.get(f"{base}/dev/token").status_code == 404
        assert httpx.get(f"{base}/api/identity").json() == {"issuer": ISSUER, "client_id": "continuum-dashboard",
                                                            "scope": "openid"}
        assert httpx.get(f"{base}/api/figures").status_code == 401
        forged = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJ4In0.c2ln"  # {"alg":"RS256","kid":"k1"}
        r = httpx.get(f"{base}/api/figures", headers={"Authorization": f"Bearer {forged}"})
        assert r.status_code == 401 and "discovery document cannot be fetched" in r.headers["www-authenticate"]
        assert "/dev/token" not in httpx.get(f"{base}/openapi.json").text
    finally:
        proc.terminate()
        proc.wait(30)
