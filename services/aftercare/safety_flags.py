"""Aftercare's safety flags: raised by any check-in answer with a safety finding (in the
transaction that stores the answer), acknowledged and resolved by a clinician (the token's
subject), escalated by the sweep while nobody acknowledges them. The rules and their recording
are shared (services.clinical_safety); this module raises the flag and names aftercare's events."""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.clinical_safety import flags as rules
from services.clinical_safety import recording
from services.clinical_safety.screeners import cssrs_risk
from services.clinical_safety.settings import SafetySettings
from services.clinical_safety.triage import SafetyFinding
from services.contracts.base import Actor
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

EVENTS = recording.FlagEvents(SafetyFlagAcknowledged, SafetyFlagResolved, SafetyFlagEscalated)


class UnknownSafetyFlag(LookupError):
    pass


def ladder(settings: AftercareSettings, safety: SafetySettings | None = None) -> rules.EscalationLadder:
    """The escalation ladder, its windows shrunk with aftercare's day length (1 in production)."""
    return (safety or SafetySettings()).ladder(settings.time_scale)


def sweep(unit_of_work, settings: AftercareSettings, clock, safety: SafetySettings | None = None
          ) -> recording.SafetySweep:
    safety = safety or SafetySettings()
    return recording.SafetySweep(unit_of_work, SafetyFlag, EVENTS, ladder(settings, safety),
                                 safety.interval(settings.time_scale), clock)


def raise_flag(session: AsyncSession, outbox: Outbox, fu: FollowUp, check_in: CheckIn,
               finding: SafetyFinding, now: datetime, actor: Actor | None = None) -> SafetyFlag:
    """One flag per answer with a finding, whatever the follow-up's state. ``actor``: who recorded
    the answer (the token)."""
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
        flagged_at=now, respond_by=finding.respond_by, actor=actor), EventContext.new(fu.tenant_id, fu.program_id))
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


def describe(flag: SafetyFlag, now: datetime) -> dict:
    return {**recording.describe(flag, now), "source": "aftercare_check_in", "follow_up_id": flag.follow_up_id,
            "follow_up_status": flag.follow_up_status}


def acknowledge(outbox: Outbox, flag: SafetyFlag, actor: Actor, now: datetime) -> SafetyFlag:
    return recording.acknowledge(outbox, flag, actor, now, EVENTS)


def resolve(outbox: Outbox, flag: SafetyFlag, action: SafetyAction, actor: Actor, now: datetime) -> SafetyFlag:
    return recording.resolve(outbox, flag, action, actor, now, EVENTS)


async def escalate_overdue(session: AsyncSession, outbox: Outbox, now: datetime,
                           steps: rules.EscalationLadder) -> int:
    return await recording.escalate_overdue(session, outbox, SafetyFlag, now, steps, EVENTS)
