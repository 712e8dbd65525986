"""A safety flag's lifecycle (services.clinical_safety.flags): escalation at each deadline,
acknowledgement stops it, resolution, overdue."""

from datetime import UTC, datetime, timedelta

import pytest

from services.clinical_safety.flags import (
    EscalationLadder,
    FlagConflict,
    FlagStatus,
    acknowledge,
    deadline,
    escalations_due,
    is_overdue,
    resolve,
)
from services.contracts.codes import SafetyAction

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LADDER = EscalationLadder(("on_call_clinician", "clinical_supervisor", "program_director"),
                          (timedelta(minutes=30), timedelta(minutes=30), timedelta(hours=1)))
S = timedelta(seconds=1)


def test_deadlines_chain_from_respond_by():
    assert [deadline(T0, n, LADDER) for n in range(4)] == [
        T0, T0 + timedelta(minutes=30), T0 + timedelta(hours=1), T0 + timedelta(hours=2)]


@pytest.mark.parametrize("now, levels", [
    (T0 - S, []),
    (T0, [1]),
    (T0 + timedelta(minutes=30) - S, [1]),
    (T0 + timedelta(minutes=30), [1, 2]),
    (T0 + timedelta(hours=1), [1, 2, 3]),
    (T0 + timedelta(days=3), [1, 2, 3]),   # the top of the ladder: no fourth level
])
def test_an_unanswered_flag_escalates_level_by_level_and_a_late_sweep_catches_up(now, levels):
    steps = escalations_due(FlagStatus.OPEN, T0, 0, now, LADDER)
    assert [s.level for s in steps] == levels
    assert [s.role for s in steps] == list(LADDER.roles[:len(levels)])
    if steps:
        assert steps[0].due_at == T0 and steps[0].respond_by == T0 + timedelta(minutes=30)


def test_a_level_already_reached_is_not_raised_again():
    assert escalations_due(FlagStatus.OPEN, T0, 1, T0 + timedelta(minutes=1), LADDER) == []
    assert [s.level for s in escalations_due(FlagStatus.OPEN, T0, 1, T0 + timedelta(minutes=30), LADDER)] == [2]


@pytest.mark.parametrize("status", [FlagStatus.ACKNOWLEDGED, FlagStatus.RESOLVED])
def test_an_answered_flag_never_escalates_nor_is_overdue(status):
    assert escalations_due(status, T0, 0, T0 + timedelta(days=1), LADDER) == []
    assert not is_overdue(status, T0, T0 + timedelta(days=1))


def test_overdue_strictly_after_the_deadline():
    assert not is_overdue(FlagStatus.OPEN, T0, T0)
    assert is_overdue(FlagStatus.OPEN, T0, T0 + S)


def test_acknowledge_is_idempotent():
    first = acknowledge(FlagStatus.OPEN)
    assert first.status is FlagStatus.ACKNOWLEDGED and first.acknowledged
    again = acknowledge(first.status)
    assert again.status is FlagStatus.ACKNOWLEDGED and not again.acknowledged
    assert not acknowledge(FlagStatus.RESOLVED).acknowledged


def test_resolving_an_open_flag_acknowledges_it_too():
    t = resolve(FlagStatus.OPEN, SafetyAction.SAFETY_PLAN, None)
    assert (t.status, t.acknowledged, t.resolved) == (FlagStatus.RESOLVED, True, True)
    t = resolve(FlagStatus.ACKNOWLEDGED, SafetyAction.CRISIS_EVALUATION, None)
    assert (t.acknowledged, t.resolved) == (False, True)


def test_resolving_again_same_action_is_a_no_op_another_action_a_conflict():
    same = resolve(FlagStatus.RESOLVED, SafetyAction.SAFETY_PLAN, SafetyAction.SAFETY_PLAN)
    assert not same.resolved and not same.acknowledged
    with pytest.raises(FlagConflict) as exc:
        resolve(FlagStatus.RESOLVED, SafetyAction.EMERGENCY_REFERRAL, SafetyAction.SAFETY_PLAN)
    assert exc.value.field == "action_taken"


def test_a_ladder_needs_one_window_per_role():
    with pytest.raises(ValueError):
        EscalationLadder(("a", "b"), (timedelta(1),))


@pytest.mark.parametrize("subject, ok", [("staff-clin-42", True), ("dev-clinician", True), ("auth0|123", False),
                                         ("", False), ("x" * 65, False),
                                         ("3f2c9a4e-1b7d-4c1e-9a55-0d6f2b8e7c11", True)])  # a Keycloak sub
def test_the_actor_is_the_tokens_subject_and_role_when_events_can_record_it(subject, ok):
    from services.security.dependencies import Access
    from services.security.principal import Principal
    from services.web.commands import acting as actor
    from services.web.refusals import NotPermitted
    access = Access(Principal(subject, ("clinician",), "t1", ("prog1",)), "clinician", "safety_flag.resolve",
                    "treatment")
    if ok:
        assert (actor(access).id, actor(access).role) == (subject, "clinician")
    else:
        with pytest.raises(NotPermitted) as refused:
            actor(access)
        assert refused.value.status_code == 403 and "subject" in refused.value.message
