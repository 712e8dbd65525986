"""Sets a service up for authentication at start: the token verifier of the configured OpenID
Connect issuer (no issuer configured: the service refuses to start, in any environment, since no
token could be verified; nothing is fetched yet, so a service starts while the identity provider
is down), the audit table, ``GET /audit``."""

from fastapi import FastAPI
from pydantic import ValidationError

from services.eventing.database import Database
from services.eventing.settings import ContinuumSettings, StartRefused

from .audit import AuditBase
from .audit_api import router as audit_router
from .audit_writer import AuditWriter
from .settings import AuthSettings
from .tokens import TokenVerifier

AUDIT_METADATA = AuditBase.metadata


class NoIssuer(StartRefused):
    """No OpenID Connect issuer configured, or a malformed one: no token could be verified."""


def auth_settings() -> AuthSettings:
    try:
        return AuthSettings()
    except ValidationError as exc:
        reasons = "; ".join(f"CONTINUUM_AUTH_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}"
                            for e in exc.errors())
        raise NoIssuer(f"authentication settings refused: {reasons}") from None


def token_verifier(base: ContinuumSettings, settings: AuthSettings | None = None) -> TokenVerifier:
    """The process's verifier; StartRefused without an issuer (development included: there is no
    other way in, and the stack always sets one)."""
    settings = settings or auth_settings()
    if not settings.issuer:
        raise NoIssuer(f"no token issuer: set CONTINUUM_AUTH_ISSUER to the OpenID Connect issuer whose access "
                       f"tokens the services accept (CONTINUUM_ENVIRONMENT={base.environment})")
    return TokenVerifier.from_settings(settings)


def secure(api: FastAPI, verifier: TokenVerifier, db: Database) -> AuditWriter:
    """Returns the audit writer: close it when the service stops (it flushes what is left). The
    host documents ``audit_router``'s common errors (services/web) before calling this."""
    api.state.token_verifier = verifier
    api.state.audit_writer = AuditWriter(db)
    api.include_router(audit_router)
    return api.state.audit_writer
