"""Scheduling's handlers: place a plan's week, record attendance, stop at discharge."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.contracts.codes import AttendanceMode, MissedReason, Modality
from services.contracts.envelope import EventContext
from services.contracts.events_aftercare import ParticipantDischarged
from services.contracts.events_planning import PlanCreated
from services.contracts.events_scheduling import (
    ScheduledSession,
    SchedulingFailed,
    SessionAttended,
    SessionCancelled,
    SessionMissed,
    SessionsScheduled,
    UnmetRequirement,
)
from services.eventing.consumer import HandlerContext
from services.eventing.ids import new_id
from services.eventing.outbox import Outbox

from .calendar_config import load_calendar
from .domain.placement import Load, Requirement, Window, place_week
from .tables import Session


class UnknownSession(LookupError):
    pass


class AttendanceConflict(ValueError):
    pass


async def _load_for(session: AsyncSession, start_utc: datetime, end_utc: datetime, tz) -> Load:
    load = Load()
    rows = (await session.scalars(select(Session).where(
        Session.starts_at < end_utc, Session.ends_at > start_utc, Session.status != "cancelled"))).all()
    for s in rows:
        local_start = s.starts_at.astimezone(tz).replace(tzinfo=None)
        local_end = s.ends_at.astimezone(tz).replace(tzinfo=None)
        if s.group_id:
            key = (s.group_id, local_start.date())
            load.group_seats[key] = load.group_seats.get(key, 0) + 1
        else:
            load.clinician_busy.setdefault(s.clinician_id, []).append((local_start, local_end))
    return load


async def on_plan_created(ctx: HandlerContext, plan: PlanCreated) -> None:
    cal = load_calendar()
    week = [plan.start_date + timedelta(days=i) for i in range(7)]
    start_utc = datetime.combine(week[0], datetime.min.time(), cal.timezone).astimezone(UTC)
    load = await _load_for(ctx.session, start_utc, start_utc + timedelta(days=8), cal.timezone)
    requirements = [Requirement(i.intervention_id, i.modality, i.sessions_per_week, i.minutes, i.discipline,
                                i.group) for i in plan.interventions]
    availability = [Window(w.day, w.start, w.end) for w in plan.availability]
    placed, unmet = place_week(week, requirements, availability, list(cal.groups), list(cal.clinicians), load)
    mode = AttendanceMode.TELEHEALTH if plan.attendance_mode is AttendanceMode.TELEHEALTH else AttendanceMode.IN_PERSON
    sessions: list[ScheduledSession] = []
    for p in placed:
        s = Session(
            id=new_id("ses"), participant_id=plan.participant_id, tenant_id=ctx.cause.tenantid,
            program_id=ctx.cause.programid, plan_id=plan.plan_id, plan_version=plan.plan_version,
            intervention_id=p.intervention_id, modality=p.modality,
            starts_at=p.starts.replace(tzinfo=cal.timezone).astimezone(UTC),
            ends_at=p.ends.replace(tzinfo=cal.timezone).astimezone(UTC),
            group_id=p.group_id, clinician_id=p.clinician_id, mode=mode)
        ctx.session.add(s)
        sessions.append(ScheduledSession(
            session_id=s.id, intervention_id=s.intervention_id, modality=p.modality, starts_at=s.starts_at,
            ends_at=s.ends_at, group_id=s.group_id, clinician_id=s.clinician_id, mode=mode))
    hours = round(sum((p.ends - p.starts).total_seconds() for p in placed) / 3600, 2)
    unmet_events = tuple(UnmetRequirement(intervention_id=u.intervention_id, sessions_missing=u.sessions_missing,
                                          reason_code=u.reason_code) for u in unmet)
    out = EventContext.caused_by(ctx.cause)
    ctx.outbox.add(SessionsScheduled(
        participant_id=plan.participant_id, plan_id=plan.plan_id, plan_version=plan.plan_version,
        week_start=week[0], sessions=tuple(sessions), weekly_hours_scheduled=hours,
        weekly_hours_required=plan.weekly_hours_minimum, unmet=unmet_events), out)
    if unmet and hours < plan.weekly_hours_minimum:
        ctx.outbox.add(SchedulingFailed(participant_id=plan.participant_id, plan_id=plan.plan_id,
                                        plan_version=plan.plan_version, reasons=unmet_events,
                                        failed_at=datetime.now(UTC)), out)


async def on_discharged(ctx: HandlerContext, event: ParticipantDischarged) -> None:
    """Scheduling stops at discharge: future sessions are cancelled."""
    now = datetime.now(UTC)
    future = (await ctx.session.scalars(select(Session).where(
        Session.participant_id == event.participant_id, Session.status == "scheduled",
        Session.starts_at > now))).all()
    for s in future:
        s.status = "cancelled"
        ctx.outbox.add(SessionCancelled(participant_id=s.participant_id, session_id=s.id,
                                        reason_code="participant_discharged", cancelled_at=now),
                       EventContext.caused_by(ctx.cause))


@dataclass(frozen=True)
class AttendanceRecord:
    attended: bool
    minutes_attended: int | None = None
    reason: MissedReason | None = None


async def record_attendance(session: AsyncSession, outbox: Outbox, session_id: str,
                            record: AttendanceRecord) -> Session:
    s = await session.get(Session, session_id)
    if s is None:
        raise UnknownSession(session_id)
    if s.status != "scheduled":
        raise AttendanceConflict(f"session {session_id} is already {s.status}")
    length = int((s.ends_at - s.starts_at).total_seconds() // 60)
    ctx = EventContext.new(s.tenant_id, s.program_id)
    now = datetime.now(UTC)
    if record.attended:
        minutes = length if record.minutes_attended is None else record.minutes_attended
        if minutes > length:
            raise AttendanceConflict(f"minutes_attended {minutes} exceeds the session's {length} minutes")
        s.status, s.minutes_attended = "attended", minutes
        outbox.add(SessionAttended(participant_id=s.participant_id, session_id=s.id, plan_id=s.plan_id,
                                   modality=Modality(s.modality), minutes_attended=minutes,
                                   attended_at=now), ctx)
    else:
        s.status, s.missed_reason = "missed", record.reason
        outbox.add(SessionMissed(participant_id=s.participant_id, session_id=s.id, plan_id=s.plan_id,
                                 modality=Modality(s.modality), reason=record.reason or MissedReason.NO_SHOW,
                                 recorded_at=now), ctx)
    return s



HANDLERS = {PlanCreated: on_plan_created, ParticipantDischarged: on_discharged}
