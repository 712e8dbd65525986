"""Aftercare's safety flags: raised by any check-in answer with a safety finding (in the
transaction that stores the answer), acknowledged and resolved by a clinician (the token's
subject), escalated by the sweep while nobody acknowledges them. The rules are the shared
pure ones (services.clinical_safety); this module loads, calls, records and publishes."""

import asyncio
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.clinical_safety import flags as rules
from services.clinical_safety.screeners import cssrs_risk
from services.clinical_safety.triage import SafetyFinding
from services.contracts.codes import SafetyAction
from services.contracts.envelope import EventContext
from services.contracts.events_aftercare import (
    CheckInSafetyRiskFlagged,
    SafetyFlagAcknowledged,
    SafetyFlagEscalated,
    SafetyFlagResolved,
)
from services.eventing.ids import new_id
from services.eventing.logging import get_logger
from services.eventing.outbox import Outbox

from .domain.follow_up_rules import CheckIn
from .settings import AftercareSettings
from .tables import FollowUp, SafetyFlag

log = get_logger(__name__)


class UnknownSafetyFlag(LookupError):
    pass


def ladder(settings: AftercareSettings) -> rules.EscalationLadder:
    """The escalation ladder, its windows shrunk with the day length (1 in production)."""
    return rules.EscalationLadder(
        settings.safety_escalation_roles,
        tuple(timedelta(minutes=m) * settings.time_scale for m in settings.safety_escalation_response_minutes))


def _ctx(flag: SafetyFlag) -> EventContext:
    return EventContext.new(flag.tenant_id, flag.program_id)


def raise_flag(session: AsyncSession, outbox: Outbox, fu: FollowUp, check_in: CheckIn,
               finding: SafetyFinding, now: datetime) -> SafetyFlag:
    """One flag per answer with a finding, whatever the follow-up's state."""
    flag = SafetyFlag(
        id=new_id("sflag"), participant_id=fu.participant_id, episode_id=fu.episode_id, tenant_id=fu.tenant_id,
        program_id=fu.program_id, follow_up_id=fu.id, follow_up_status=fu.status, severity=finding.severity,
        triggers=list(finding.triggers), disposition=finding.disposition, flagged_at=now,
        respond_by=finding.respond_by, current_deadline=finding.respond_by, status=rules.FlagStatus.OPEN,
        escalation_level=0)
    session.add(flag)
    outbox.add(CheckInSafetyRiskFlagged(
        participant_id=fu.participant_id, flag_id=flag.id, episode_id=fu.episode_id, follow_up_id=fu.id,
        follow_up_status=fu.status, severity=finding.severity, triggers=finding.triggers,
        disposition=finding.disposition, phq9_item9=check_in.phq9_item9,
        cssrs_risk=cssrs_risk(check_in.cssrs).value if check_in.cssrs is not None else None,
        flagged_at=now, respond_by=finding.respond_by), _ctx(flag))
    log.warning("safety.flagged", participant_id=fu.participant_id, follow_up_id=fu.id, flag_id=flag.id,
                severity=str(finding.severity), follow_up_status=fu.status,
                respond_by=finding.respond_by.isoformat())
    return flag


async def get_flag(session: AsyncSession, flag_id: str, lock: bool = False) -> SafetyFlag:
    q = select(SafetyFlag).where(SafetyFlag.id == flag_id)
    flag = await session.scalar(q.with_for_update() if lock else q)
    if flag is None:
        raise UnknownSafetyFlag(flag_id)
    return flag


def acknowledge(outbox: Outbox, flag: SafetyFlag, actor: str, now: datetime) -> SafetyFlag:
    t = rules.acknowledge(rules.FlagStatus(flag.status))
    if t.acknowledged:
        _acknowledged(outbox, flag, actor, now)
    flag.status = t.status
    return flag


def _acknowledged(outbox: Outbox, flag: SafetyFlag, actor: str, now: datetime) -> None:
    flag.acknowledged_at, flag.acknowledged_by = now, actor
    outbox.add(SafetyFlagAcknowledged(
        participant_id=flag.participant_id, flag_id=flag.id, episode_id=flag.episode_id, severity=flag.severity,
        acknowledged_by=actor, acknowledged_at=now, flagged_at=flag.flagged_at), _ctx(flag))
    log.info("safety.acknowledged", flag_id=flag.id, participant_id=flag.participant_id, by=actor)


def resolve(outbox: Outbox, flag: SafetyFlag, action: SafetyAction, actor: str, now: datetime) -> SafetyFlag:
    """Raises rules.FlagConflict (naming the field) when resolved before with another action."""
    done_with = SafetyAction(flag.action_taken) if flag.action_taken else None
    t = rules.resolve(rules.FlagStatus(flag.status), action, done_with)
    if t.acknowledged:
        _acknowledged(outbox, flag, actor, now)
    if t.resolved:
        flag.resolved_at, flag.resolved_by, flag.action_taken = now, actor, action
        outbox.add(SafetyFlagResolved(
            participant_id=flag.participant_id, flag_id=flag.id, episode_id=flag.episode_id,
            severity=flag.severity, action_taken=action, resolved_by=actor, resolved_at=now,
            flagged_at=flag.flagged_at), _ctx(flag))
        log.info("safety.resolved", flag_id=flag.id, participant_id=flag.participant_id, by=actor,
                 action_taken=str(action))
    flag.status = t.status
    return flag


async def escalate_overdue(session: AsyncSession, outbox: Outbox, now: datetime,
                           steps: rules.EscalationLadder) -> int:
    """One sweep: every open flag past its deadline goes up the ladder (catching up on every
    level that fell due). Rows locked and skipped if another instance holds them."""
    due = (await session.scalars(
        select(SafetyFlag).where(SafetyFlag.status == rules.FlagStatus.OPEN, SafetyFlag.current_deadline <= now,
                                 SafetyFlag.escalation_level < len(steps.roles))
        .order_by(SafetyFlag.current_deadline).limit(200).with_for_update(skip_locked=True))).all()
    raised = 0
    for flag in due:
        for step in rules.escalations_due(rules.FlagStatus(flag.status), flag.respond_by, flag.escalation_level,
                                          now, steps):
            flag.escalation_level, flag.escalated_to, flag.current_deadline = step.level, step.role, step.respond_by
            outbox.add(SafetyFlagEscalated(
                participant_id=flag.participant_id, flag_id=flag.id, episode_id=flag.episode_id,
                severity=flag.severity, escalation_level=step.level, escalated_to=step.role,
                overdue_since=step.due_at, escalated_at=now, respond_by=step.respond_by), _ctx(flag))
            log.warning("safety.escalated", flag_id=flag.id, participant_id=flag.participant_id,
                        escalation_level=step.level, escalated_to=step.role)
            raised += 1
    return raised


@dataclass
class SafetySweep:
    """The periodic in-process task: every ``interval_s``, escalate the overdue flags."""

    unit_of_work: Callable[[], AbstractAsyncContextManager]
    settings: AftercareSettings
    clock: Callable[[], datetime]

    async def once(self) -> int:
        async with self.unit_of_work() as uow:
            return await escalate_overdue(uow.session, uow.outbox, self.clock(), ladder(self.settings))

    async def run(self) -> None:
        while True:
            try:
                await self.once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the sweep must outlive one bad round
                log.error("safety.sweep_failed", error=type(exc).__name__)
            await asyncio.sleep(self.settings.sweep_seconds)
