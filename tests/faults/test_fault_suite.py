"""The fault suite at small scale, against the session's real stack: processes killed,
the broker restarted, poison interleaved, everything replayed, and the services again on
PostgreSQL with two workers each of planning and scheduling — nothing lost, nothing twice.
(`python -m bench faults --participants 1000` runs the same scenarios on demand.)"""

from dataclasses import replace

import pytest

from bench.faults import (
    kill_workers,
    poison,
    replay_everything,
    restart_broker,
    two_workers_on_postgresql,
    two_workers_one_killed,
)
from deploy.processes import free_port
from deploy.stack import Stack
from services.contracts.topics import CONSUMERS

pytestmark = pytest.mark.e2e

SMALL = 12


def check(result) -> None:
    print(result.line())
    assert result.lost == 0, result.line()
    assert result.duplicated == 0, result.line()
    assert result.completed >= 1


def test_kill_dash_nine_each_worker_mid_run(stack):
    check(kill_workers(stack, SMALL, start_index=100, timeout_s=240))


def test_restart_the_broker_mid_run(stack):
    check(restart_broker(stack, SMALL, start_index=200, timeout_s=240))


def test_poison_interleaved_with_real_events(stack):
    result = poison(stack, SMALL, start_index=300, bad=60, timeout_s=240)
    check(result)
    assert "0 missing" in result.detail


def test_two_workers_in_one_group_one_killed(stack):
    result = two_workers_one_killed(stack, SMALL, start_index=400, service="planning", timeout_s=240)
    check(result)
    assert result.detail.startswith("2 members"), result.detail


def test_replaying_every_topic_changes_nothing(stack):
    result = replay_everything(stack, timeout_s=240)
    check(result)
    assert result.tried > 0


@pytest.fixture(scope="module")
def postgresql_stack(stack, tmp_path_factory):
    """The services again, their stores on a PostgreSQL server started from Debian's package,
    beside the session's stack (its broker and Prefect server, topics of their own)."""
    config = replace(stack.config, data_dir=tmp_path_factory.mktemp("on-postgresql"),
                     topic_prefix=f"{stack.config.topic_prefix}pg.", database="postgresql",
                     service_ports={s: free_port() for s in CONSUMERS})
    beside = Stack(config, beside=stack)
    beside.start()
    yield beside
    beside.stop()


def test_two_workers_each_of_planning_and_scheduling_on_postgresql_one_of_each_killed(postgresql_stack):
    result = two_workers_on_postgresql(postgresql_stack, SMALL, start_index=500, timeout_s=300)
    check(result)
    assert result.detail.startswith("group members before the kill: planning 2, scheduling 2"), result.detail
