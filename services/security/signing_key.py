"""Where the token signing key comes from. Outside development it must be configured
(``CONTINUUM_AUTH_SIGNING_KEY`` or ``..._FILE``) and be a real secret; in development and test a
key is generated on first run into the data directory and shared by every process of the
deployment (services, flow server, the demo and test clients)."""

import os
import secrets
from pathlib import Path

from services.eventing.settings import StartRefused

from .settings import AuthSettings

DEV_KEY_PREFIX = "continuum-development-key-"
MIN_KEY_LENGTH = 32
DEVELOPMENT_ENVIRONMENTS = ("development", "test")


class SigningKeyRefused(StartRefused):
    """The service must not start: no key, or a development key, outside development."""


def dev_key_path(data_dir: Path) -> Path:
    return Path(data_dir).resolve() / "auth" / "development-signing-key"


def ensure_dev_key(data_dir: Path) -> str:
    """The deployment's development key, created once. Several processes may start at the same
    time: each writes a candidate and links it into place; the first link wins, all read it."""
    path = dev_key_path(data_dir)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        candidate = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(DEV_KEY_PREFIX + secrets.token_urlsafe(48))
        try:
            os.link(candidate, path)
        except FileExistsError:
            pass
        finally:
            candidate.unlink()
    return path.read_text().strip()


def _configured(settings: AuthSettings) -> str | None:
    if settings.signing_key is not None:
        return settings.signing_key.get_secret_value().strip()
    if settings.signing_key_file is not None:
        try:
            return settings.signing_key_file.read_text().strip()
        except OSError as exc:
            raise SigningKeyRefused(f"CONTINUUM_AUTH_SIGNING_KEY_FILE cannot be read: {settings.signing_key_file} "
                                    f"({exc.strerror})") from None
    return None


def load_signing_key(settings: AuthSettings, environment: str, data_dir: Path) -> str:
    key = _configured(settings)
    if environment in DEVELOPMENT_ENVIRONMENTS:
        return key or ensure_dev_key(data_dir)
    if not key:
        raise SigningKeyRefused(
            f"no token signing key: set CONTINUUM_AUTH_SIGNING_KEY or CONTINUUM_AUTH_SIGNING_KEY_FILE "
            f"(CONTINUUM_ENVIRONMENT={environment}; a development key is generated only in development and test)")
    if key.startswith(DEV_KEY_PREFIX):
        raise SigningKeyRefused(f"the token signing key is a development key; refused in {environment}")
    if len(key) < MIN_KEY_LENGTH:
        raise SigningKeyRefused(f"the token signing key is shorter than {MIN_KEY_LENGTH} characters; "
                                f"refused in {environment}")
    return key
