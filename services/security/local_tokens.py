"""Tokens minted inside the deployment, with its own key: the flow server's ``workflow`` token
and the development clients' tokens (demo cohort, tests, bench). A production deployment would
get these from its identity provider (client-credentials grant) instead."""

from pathlib import Path

from services.eventing.settings import ContinuumSettings

from .settings import AuthSettings
from .signing_key import load_signing_key
from .tokens import TokenAuthority


def local_authority(data_dir: Path | None = None, environment: str | None = None) -> TokenAuthority:
    base = ContinuumSettings()
    auth = AuthSettings()
    key = load_signing_key(auth, environment or base.environment, data_dir or base.data_dir)
    return TokenAuthority.from_settings(key, auth)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
