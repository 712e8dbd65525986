"""Fixtures shared by the integration tests: fresh topics per test, and a service's own
SQLite database in the test's tmp dir."""

import uuid

import pytest

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
async def planning_db(tmp_path):
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'planning.db'}", PlanningBase.metadata)
    await db.create_all()
    yield db
    await db.dispose()
