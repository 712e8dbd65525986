"""The fault suite at small scale, against the session's real stack: processes killed,
the broker restarted, poison interleaved, everything replayed — nothing lost, nothing
twice. (`python -m bench faults --participants 1000` runs the same scenarios on demand.)"""

import pytest

from bench.faults import kill_workers, poison, replay_everything, restart_broker, two_workers_one_killed

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
