"""Missed check-ins: the grace window and how repeated misses escalate. Pure."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class GraceOutcome(StrEnum):
    ANSWERED = "answered"       # completed (or cancelled): nothing to do
    NOT_YET = "not_yet"         # the grace window is still open
    MISSED = "missed"           # no response within the window
    ALREADY_MISSED = "already_missed"


def grace_deadline(due_at: datetime, grace: timedelta) -> datetime:
    return due_at + grace


def grace_outcome(status: str, due_at: datetime, grace: timedelta, now: datetime) -> GraceOutcome:
    """``status`` is the follow-up's: scheduled, open, completed, missed or cancelled.
    A check-in never opened (reminder not sent) still counts as missed once the window is over:
    the participant was due either way."""
    if status in ("completed", "cancelled"):
        return GraceOutcome.ANSWERED
    if status == "missed":
        return GraceOutcome.ALREADY_MISSED
    if now < grace_deadline(due_at, grace):
        return GraceOutcome.NOT_YET
    return GraceOutcome.MISSED


@dataclass(frozen=True)
class Escalation:
    level: int          # 1 = first miss in a row, 2 = second ...
    assignee_role: str  # who the outreach task goes to
    due_within: timedelta


def escalation_for(previous_statuses: list[str], roles: tuple[str, ...],
                   response_hours: tuple[float, ...]) -> Escalation:
    """The escalation of a miss, given the statuses of the episode's earlier follow-ups
    (oldest first). Each miss in a row since the last completed check-in raises the level;
    the role and response time of a level beyond the configured ones are the last ones."""
    if not roles or len(roles) != len(response_hours):
        raise ValueError("one response time per escalation role")
    streak = 0
    for s in reversed(previous_statuses):
        if s == "missed":
            streak += 1
        elif s == "completed":
            break
    level = streak + 1
    i = min(level, len(roles)) - 1
    return Escalation(level, roles[i], timedelta(hours=response_hours[i]))
