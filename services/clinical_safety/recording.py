"""The flag lifecycle (``flags``) applied to a flag's row and the owning service's outbox:
the columns every owner's flag table has, and acknowledge, resolve, escalate and the periodic
sweep, parametrised by the owner's event types. Shared by intake (assessment flags) and
aftercare (check-in flags). Not pure: it changes rows and writes events; the rules stay in
``flags`` and ``triage``."""

import asyncio
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import JSON, Integer, String, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from services.contracts.base import Actor
from services.contracts.codes import SafetyAction
from services.contracts.envelope import EventContext
from services.eventing.database import UtcDateTime
from services.eventing.logging import get_logger
from services.eventing.outbox import Outbox

from . import flags as rules

log = get_logger(__name__)


class SafetyFlagColumns:
    """The columns of a safety flag, in the owning service's own table (a mixin)."""

    participant_id: Mapped[str] = mapped_column(String(64), index=True)
    episode_id: Mapped[str] = mapped_column(String(64))
    tenant_id: Mapped[str] = mapped_column(String(64))
    program_id: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(20))
    triggers: Mapped[list] = mapped_column(JSON)
    disposition: Mapped[str | None] = mapped_column(String(64), nullable=True)
    flagged_at: Mapped[datetime] = mapped_column(UtcDateTime())
    respond_by: Mapped[datetime] = mapped_column(UtcDateTime())
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    escalated_to: Mapped[str | None] = mapped_column(String(64), nullable=True)
    current_deadline: Mapped[datetime] = mapped_column(UtcDateTime())
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    acknowledged_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    acknowledged_by_role: Mapped[str | None] = mapped_column(String(64), nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    resolved_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    resolved_by_role: Mapped[str | None] = mapped_column(String(64), nullable=True)
    action_taken: Mapped[str | None] = mapped_column(String(40), nullable=True)

    if TYPE_CHECKING:  # each owner's table declares its own primary key
        id: Mapped[str]


@dataclass(frozen=True)
class FlagEvents:
    """The owner's event types for a flag's lifecycle."""

    acknowledged: type
    resolved: type
    escalated: type


def _ctx(flag) -> EventContext:
    return EventContext.new(flag.tenant_id, flag.program_id)


def describe(flag, now: datetime) -> dict:
    """A flag as the owner's API shows it: ids, codes and times only."""
    def iso(t: datetime | None) -> str | None:
        return t.isoformat() if t else None
    return {"flag_id": flag.id, "participant_id": flag.participant_id, "episode_id": flag.episode_id,
            "severity": flag.severity, "triggers": flag.triggers, "disposition": flag.disposition,
            "status": flag.status, "flagged_at": flag.flagged_at.isoformat(),
            "respond_by": flag.respond_by.isoformat(),
            "overdue": rules.is_overdue(rules.FlagStatus(flag.status), flag.respond_by, now),
            "escalation_level": flag.escalation_level, "escalated_to": flag.escalated_to,
            "current_deadline": flag.current_deadline.isoformat(),
            "acknowledged_at": iso(flag.acknowledged_at), "acknowledged_by": flag.acknowledged_by,
            "acknowledged_by_role": flag.acknowledged_by_role,
            "resolved_at": iso(flag.resolved_at), "resolved_by": flag.resolved_by,
            "resolved_by_role": flag.resolved_by_role, "action_taken": flag.action_taken}


def _acknowledged(outbox: Outbox, flag, actor: Actor, now: datetime, events: FlagEvents) -> None:
    flag.acknowledged_at, flag.acknowledged_by, flag.acknowledged_by_role = now, actor.id, actor.role
    outbox.add(events.acknowledged(
        participant_id=flag.participant_id, flag_id=flag.id, episode_id=flag.episode_id, severity=flag.severity,
        acknowledged_by=actor.id, acknowledged_at=now, flagged_at=flag.flagged_at, actor=actor), _ctx(flag))
    log.info("safety.acknowledged", flag_id=flag.id, participant_id=flag.participant_id, by=actor.id,
             role=actor.role)


def acknowledge(outbox: Outbox, flag, actor: Actor, now: datetime, events: FlagEvents):
    """Idempotent: a second acknowledgement, or one of a resolved flag, changes nothing."""
    t = rules.acknowledge(rules.FlagStatus(flag.status))
    if t.acknowledged:
        _acknowledged(outbox, flag, actor, now, events)
    flag.status = t.status
    return flag


def resolve(outbox: Outbox, flag, action: SafetyAction, actor: Actor, now: datetime, events: FlagEvents):
    """Raises rules.FlagConflict (naming the field) when resolved before with another action."""
    done_with = SafetyAction(flag.action_taken) if flag.action_taken else None
    t = rules.resolve(rules.FlagStatus(flag.status), action, done_with)
    if t.acknowledged:
        _acknowledged(outbox, flag, actor, now, events)
    if t.resolved:
        flag.resolved_at, flag.resolved_by, flag.resolved_by_role = now, actor.id, actor.role
        flag.action_taken = action
        outbox.add(events.resolved(
            participant_id=flag.participant_id, flag_id=flag.id, episode_id=flag.episode_id,
            severity=flag.severity, action_taken=action, resolved_by=actor.id, resolved_at=now,
            flagged_at=flag.flagged_at, actor=actor), _ctx(flag))
        log.info("safety.resolved", flag_id=flag.id, participant_id=flag.participant_id, by=actor.id,
                 role=actor.role, action_taken=str(action))
    flag.status = t.status
    return flag


async def escalate_overdue(session: AsyncSession, outbox: Outbox, model: type[SafetyFlagColumns], now: datetime,
                           ladder: rules.EscalationLadder, events: FlagEvents) -> int:
    """One sweep: every open flag past its deadline goes up the ladder (catching up on every
    level that fell due). Rows locked and skipped if another instance holds them."""
    due = (await session.scalars(
        select(model).where(model.status == rules.FlagStatus.OPEN, model.current_deadline <= now,
                            model.escalation_level < len(ladder.roles))
        .order_by(model.current_deadline).limit(200).with_for_update(skip_locked=True))).all()
    raised = 0
    for flag in due:
        for step in rules.escalations_due(rules.FlagStatus(flag.status), flag.respond_by, flag.escalation_level,
                                          now, ladder):
            flag.escalation_level, flag.escalated_to, flag.current_deadline = step.level, step.role, step.respond_by
            outbox.add(events.escalated(
                participant_id=flag.participant_id, flag_id=flag.id, episode_id=flag.episode_id,
                severity=flag.severity, escalation_level=step.level, escalated_to=step.role,
                overdue_since=step.due_at, escalated_at=now, respond_by=step.respond_by), _ctx(flag))
            log.warning("safety.escalated", flag_id=flag.id, participant_id=flag.participant_id,
                        escalation_level=step.level, escalated_to=step.role)
            raised += 1
    return raised


@dataclass
class SafetySweep:
    """The periodic in-process task of the owning service: every ``interval_s``, escalate the
    overdue flags of ``model`` in one unit of work."""

    unit_of_work: Callable[[], AbstractAsyncContextManager]
    model: type[SafetyFlagColumns]
    events: FlagEvents
    ladder: rules.EscalationLadder
    interval_s: float
    clock: Callable[[], datetime]

    async def once(self) -> int:
        async with self.unit_of_work() as uow:
            return await escalate_overdue(uow.session, uow.outbox, self.model, self.clock(), self.ladder,
                                          self.events)

    async def run(self) -> None:
        while True:
            try:
                await self.once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the sweep must outlive one bad round
                log.error("safety.sweep_failed", error=type(exc).__name__)
            await asyncio.sleep(self.interval_s)

    async def stop(self) -> None:
        """Nothing to hand over: a sweep cut short is repeated by the next (its unit of work rolled back)."""
