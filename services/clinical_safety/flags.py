"""A safety flag's lifecycle: open -> acknowledged -> resolved, and the escalation of a flag
nobody acknowledged by its deadline. Pure: the owning service keeps the state and calls these.

Escalation follows the ladder aftercare's missed check-ins use (services/aftercare/domain/
missed.py): each level has a role and a response window; the deadlines chain from the flag's
``respond_by`` (level 1 at respond_by, level 2 one window later ...), so a sweep that runs late
catches up with every level that fell due, and a replay gives the same deadlines.
Acknowledging stops the escalation; a flag stays open (on the dashboard) until resolved."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from services.contracts.codes import SafetyAction


class FlagStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class EscalationLadder:
    roles: tuple[str, ...]           # e.g. on-call clinician, clinical supervisor, program director
    windows: tuple[timedelta, ...]   # how long each level has before the next

    def __post_init__(self) -> None:
        if not self.roles or len(self.roles) != len(self.windows):
            raise ValueError("one response window per escalation role")


@dataclass(frozen=True)
class EscalationStep:
    level: int              # 1 = the first role of the ladder
    role: str
    due_at: datetime        # when this level fell due (the previous deadline)
    respond_by: datetime    # this level's own deadline


def deadline(respond_by: datetime, level: int, ladder: EscalationLadder) -> datetime:
    """The deadline in force at escalation ``level`` (0: the flag's own respond_by)."""
    return respond_by + sum(ladder.windows[:level], timedelta())


def escalations_due(status: FlagStatus, respond_by: datetime, level: int, now: datetime,
                    ladder: EscalationLadder) -> list[EscalationStep]:
    """The levels that fell due by ``now`` beyond ``level``, oldest first; none once the flag
    is acknowledged or resolved, none beyond the top of the ladder."""
    if status is not FlagStatus.OPEN:
        return []
    steps = []
    while level < len(ladder.roles) and now >= (due := deadline(respond_by, level, ladder)):
        level += 1
        steps.append(EscalationStep(level, ladder.roles[level - 1], due, deadline(respond_by, level, ladder)))
    return steps


def is_overdue(status: FlagStatus, respond_by: datetime, now: datetime) -> bool:
    """Nobody acknowledged it by its deadline (a resolved flag was answered)."""
    return status is FlagStatus.OPEN and now > respond_by


class FlagConflict(ValueError):
    """A response the flag's state does not allow; names the field."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Transition:
    status: FlagStatus
    acknowledged: bool   # this call acknowledges (publish SafetyFlagAcknowledged)
    resolved: bool       # this call resolves (publish SafetyFlagResolved)


def acknowledge(status: FlagStatus) -> Transition:
    """Idempotent: acknowledging again, or a resolved flag, changes nothing."""
    if status is FlagStatus.OPEN:
        return Transition(FlagStatus.ACKNOWLEDGED, True, False)
    return Transition(status, False, False)


def resolve(status: FlagStatus, action: SafetyAction, resolved_with: SafetyAction | None) -> Transition:
    """Resolving an open flag acknowledges it too (its time to acknowledge is the same). Again
    with the same action: nothing changes; with another action: a conflict."""
    if status is FlagStatus.RESOLVED:
        if resolved_with is not action:
            raise FlagConflict("action_taken", f"the flag is already resolved with {resolved_with}")
        return Transition(status, False, False)
    return Transition(FlagStatus.RESOLVED, status is FlagStatus.OPEN, True)
