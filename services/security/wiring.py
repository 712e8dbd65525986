"""Sets a service up for authentication at start: the signing key (refused outside development
when missing or a development key), the token authority, the audit table, ``GET /audit``."""

from pathlib import Path

from fastapi import FastAPI

from services.web.error_responses import document_common_errors

from .audit import AuditBase
from .audit_api import router as audit_router
from .settings import AuthSettings
from .signing_key import load_signing_key
from .tokens import TokenAuthority

AUDIT_METADATA = AuditBase.metadata


def token_authority(environment: str, data_dir: Path, settings: AuthSettings | None = None) -> TokenAuthority:
    settings = settings or AuthSettings()
    return TokenAuthority.from_settings(load_signing_key(settings, environment, data_dir), settings)


def secure(api: FastAPI, authority: TokenAuthority) -> None:
    api.state.token_authority = authority
    document_common_errors(audit_router)
    api.include_router(audit_router)
