"""Sets a service up for authentication at start: the signing key (refused outside development
when missing or a development key), the token authority, the audit table, ``GET /audit``."""

from pathlib import Path

from fastapi import FastAPI

from services.eventing.database import Database
from services.web.error_responses import document_common_errors

from .audit import AuditBase
from .audit_api import router as audit_router
from .audit_writer import AuditWriter
from .settings import AuthSettings
from .signing_key import load_signing_key
from .tokens import TokenAuthority

AUDIT_METADATA = AuditBase.metadata


def token_authority(environment: str, data_dir: Path, settings: AuthSettings | None = None) -> TokenAuthority:
    settings = settings or AuthSettings()
    return TokenAuthority.from_settings(load_signing_key(settings, environment, data_dir), settings)


def secure(api: FastAPI, authority: TokenAuthority, db: Database) -> AuditWriter:
    """Returns the audit writer: close it when the service stops (it flushes what is left)."""
    api.state.token_authority = authority
    document_common_errors(audit_router)
    api.state.audit_writer = AuditWriter(db)
    api.include_router(audit_router)
    return api.state.audit_writer
