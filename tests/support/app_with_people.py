"""A service's app on a SQLite file, without Kafka (its lifespan is not run), whose callers are
named people: the bearer token is a key of ``people`` and the app's token verifier (``app.state.
token_verifier``) is stood in for by a lookup, so a test says who acts. Verifying real tokens is
services/security's (tests/unit/test_token_verifier.py, tests/e2e/test_identity.py)."""

from contextlib import asynccontextmanager

import httpx

from services.security.principal import Principal


class PeopleVerifier:
    def __init__(self, people: dict[str, Principal]):
        self.people = people

    async def verify(self, token: str) -> Principal:
        return self.people[token]


def as_(who: str) -> dict[str, str]:
    """The headers of a call by ``who`` (a key of the app's people)."""
    return {"Authorization": f"Bearer {who}"}


@asynccontextmanager
async def app_with_people(service: str, create_app, people: dict[str, Principal], tmp_path, monkeypatch):
    """An ``httpx.AsyncClient`` on ``service``'s app (``create_app``, imported by the caller after
    the environment is set: pass a zero-argument function that imports and builds it); ``.db`` is its store."""
    monkeypatch.setenv("CONTINUUM_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CONTINUUM_ENVIRONMENT", "development")
    monkeypatch.setenv("CONTINUUM_AUTH_ISSUER", "http://127.0.0.1:9/realms/continuum")  # never asked: stood in
    monkeypatch.setenv(f"CONTINUUM_{service.upper()}_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / service}.db")
    app = create_app()
    app.state.token_verifier = PeopleVerifier(people)
    db = app.state.runtime.db
    await db.create_all()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://{service}") as client:
        client.db = db  # type: ignore[attr-defined]
        yield client
    await db.dispose()
