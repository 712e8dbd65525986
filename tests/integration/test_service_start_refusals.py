"""A service outside development refuses to start without a real token signing key or a
provisioned privacy master key, saying why, before it touches Kafka or its database."""

import base64
import os
import subprocess
import sys

import pytest

from services.security.signing_key import ensure_dev_key


def start(tmp_path, **env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CONTINUUM_AUTH_", "CONTINUUM_PRIVACY_"))}
    return subprocess.run([sys.executable, "-m", "services.intake"], capture_output=True, text=True, timeout=120,
                          env={**clean, "CONTINUUM_DATA_DIR": str(tmp_path), "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9",
                               **env})


@pytest.mark.parametrize("key, reason", [(None, "no token signing key"), ("short", "shorter than 32"),
                                         ("dev", "development key")])
def test_production_without_a_real_key_refuses_to_start(tmp_path, key, reason):
    env = {"CONTINUUM_ENVIRONMENT": "production"}
    if key == "dev":
        env["CONTINUUM_AUTH_SIGNING_KEY"] = ensure_dev_key(tmp_path / "elsewhere")
    elif key:
        env["CONTINUUM_AUTH_SIGNING_KEY"] = key
    done = start(tmp_path, **env)
    assert done.returncode == 2
    assert done.stderr.startswith("refusing to start:") and reason in done.stderr, done.stderr
    assert not (tmp_path / "auth").exists() and not (tmp_path / "intake.db").exists()


def master_key(tmp_path, mode: int = 0o600) -> str:
    path = tmp_path / "provisioned" / "master.key"
    path.parent.mkdir()
    path.write_text(base64.b64encode(os.urandom(32)).decode())
    path.chmod(mode)
    return str(path)


@pytest.mark.parametrize("mode, reason", [(None, "no master key"), (0o644, "readable by others")])
def test_production_without_a_provisioned_master_key_refuses_to_start(tmp_path, mode, reason):
    env = {"CONTINUUM_ENVIRONMENT": "production", "CONTINUUM_AUTH_SIGNING_KEY": "s" * 48}
    if mode:
        env["CONTINUUM_PRIVACY_MASTER_KEY_FILE"] = master_key(tmp_path, mode)
    done = start(tmp_path, **env)
    assert done.returncode == 2
    assert done.stderr.startswith("refusing to start:") and reason in done.stderr, done.stderr
    assert not (tmp_path / "keys").exists() and not (tmp_path / "intake.db").exists()


def test_production_with_a_real_key_gets_past_the_key_check(tmp_path):
    done = start(tmp_path, CONTINUUM_ENVIRONMENT="production", CONTINUUM_AUTH_SIGNING_KEY="s" * 48,
                 CONTINUUM_PRIVACY_MASTER_KEY_FILE=master_key(tmp_path))
    assert done.returncode == 2 and "Kafka is unreachable" in done.stderr, done.stderr  # the next check
    assert not (tmp_path / "auth").exists(), "no development key generated outside development"
