"""Where a deployment's keys live (environment, prefix ``CONTINUUM_PRIVACY_``), and the key
management every service builds from it."""

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

from services.eventing.settings import ContinuumSettings

from .data_key_store import SqliteDataKeys
from .master_key_file import MasterKeyFile
from .ports import KeyManagement


class PrivacySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CONTINUUM_PRIVACY_")

    key_dir: Path | None = None
    """Default ``<data dir>/keys``: one directory for every service of the deployment."""
    master_key_file: Path | None = None
    """Default ``<key dir>/master.key``; outside development and test it must exist."""


def local_key_management(base: ContinuumSettings | None = None,
                         settings: PrivacySettings | None = None) -> KeyManagement:
    base, settings = base or ContinuumSettings(), settings or PrivacySettings()
    key_dir = (settings.key_dir or base.data_dir / "keys").resolve()
    master = MasterKeyFile.load(settings.master_key_file or key_dir / "master.key",
                                generate=base.environment in ("development", "test"))
    return SqliteDataKeys(key_dir / "data-keys.db", master)
