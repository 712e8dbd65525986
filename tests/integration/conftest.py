"""Fixtures shared by the integration tests: fresh topics per test, a service's own SQLite
database in the test's tmp dir, and (``auth_env``) the settings of a service built in-process
that trusts the session's Keycloak (the ``identity`` fixture of tests/conftest.py gives the tokens)."""

import uuid

import pytest
from sqlalchemy import MetaData

from services.eventing.database import Database
from services.eventing.settings import ContinuumSettings, KafkaSettings
from services.eventing.topic_admin import create_topics
from services.planning.tables import PlanningBase


@pytest.fixture
def prefix(kafka_stack) -> str:
    """Fresh topics per test, so tests never see each other's events."""
    p = f"{kafka_stack.config.topic_prefix}it{uuid.uuid4().hex[:6]}."
    create_topics(KafkaSettings(bootstrap_servers=kafka_stack.bootstrap), ContinuumSettings(topic_prefix=p))
    return p


@pytest.fixture
def auth_env(identity, monkeypatch) -> dict[str, str]:
    """``CONTINUUM_ENVIRONMENT=development`` and the ``CONTINUUM_AUTH_*`` settings of the session's
    Keycloak (issuer, audience, claims) in this test's environment, for a service app built
    in-process; a token for it: ``identity.token(roles, tenant, programs)``."""
    env = {"CONTINUUM_ENVIRONMENT": "development", **identity.auth_env()}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
async def sqlite_database(tmp_path):
    """The one way a test gets a service's own SQLite database: ``await sqlite_database(name,
    *metadata)`` makes ``<tmp dir>/<name>.db`` with the eventing tables and the given ones;
    each is disposed of after the test."""
    opened: list[Database] = []

    async def open_database(name: str, *metadata: MetaData) -> Database:
        db = Database(f"sqlite+aiosqlite:///{tmp_path / f'{name}.db'}", *metadata)
        await db.create_all()
        opened.append(db)
        return db

    yield open_database
    for db in opened:
        await db.dispose()


@pytest.fixture
async def planning_db(sqlite_database) -> Database:
    return await sqlite_database("planning", PlanningBase.metadata)
