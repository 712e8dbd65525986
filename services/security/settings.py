"""Authentication settings (pydantic-settings, ``CONTINUUM_AUTH_*``)."""

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class AuthSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CONTINUUM_AUTH_")

    signing_key: SecretStr | None = Field(default=None, description="HS256 key shared by the deployment")
    signing_key_file: Path | None = Field(default=None, description="a file holding the key (e.g. a mounted secret)")
    issuer: str = "continuum"
    audience: str = "continuum-api"
    token_minutes: int = Field(default=60, ge=1, le=24 * 60, description="lifetime of tokens minted here")
    leeway_seconds: int = Field(default=10, ge=0, le=300, description="clock skew allowed on exp/iat")
