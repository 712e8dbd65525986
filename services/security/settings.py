"""Authentication settings (pydantic-settings, ``CONTINUUM_AUTH_*``): which OpenID Connect
issuer's tokens the services accept, for which audience, and which claims carry the roles,
tenant, programs and participant. A claim name with dots is a path into nested claims
(``realm_access.roles`` is Keycloak's realm roles; ``roles`` Entra ID's app roles; ``groups``
Okta's groups). No service holds a signing key: the issuer's public keys come from its JWKS."""

from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def checked_url(value: str | None, field: str, why_https: str, example: str = "") -> str | None:
    """``value`` stripped (None when empty), refused unless an http(s) URL, and http only on
    loopback (``why_https``: what would travel in clear otherwise)."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    url = urlsplit(value)
    if url.scheme not in ("https", "http") or not url.hostname:
        raise ValueError(f"{field}: an https URL{example} (got {value!r})")
    if url.scheme == "http" and url.hostname not in LOOPBACK_HOSTS:
        raise ValueError(f"{field}: http only on loopback; https for {url.hostname} ({why_https})")
    return value


class AuthSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CONTINUUM_AUTH_")

    issuer: str | None = Field(default=None, description="The OIDC issuer, e.g. https://idp.example/realms/"
                               "continuum; its /.well-known/openid-configuration names the JWKS. Required")
    audience: str = Field(default="continuum-api", description="The audience (aud) every token must name")
    roles_claim: str = Field(default="realm_access.roles", description="The claim (dotted path) listing roles")
    tenant_claim: str = "tenant"
    programs_claim: str = "programs"
    participant_claim: str = Field(default="participant_id",
                                   description="The claim naming the participant of a participant's own session")
    max_token_age_seconds: int = Field(default=3600, ge=60, le=24 * 3600,
                                       description="A token issued (iat) longer ago than this is refused")
    leeway_seconds: int = Field(default=30, ge=0, le=120, description="Clock skew allowed on exp, iat and nbf")
    jwks_refresh_seconds: float = Field(default=10, ge=0.1, le=3600,
                                        description="The JWKS is fetched again (an unknown kid) at most once "
                                        "this often: forged kids cause no fetch storm")
    http_timeout_seconds: float = Field(default=5, gt=0, le=30,
                                        description="Deadline of a discovery or JWKS request")

    @field_validator("issuer")
    @classmethod
    def _an_http_url(cls, value: str | None) -> str | None:
        # compared with iss exactly: a trailing slash is part of it
        return checked_url(value, "issuer", "its keys are fetched from there",
                           ", e.g. https://idp.example/realms/continuum")
