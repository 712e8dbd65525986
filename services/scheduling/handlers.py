"""Scheduling's handlers: place a plan's coming weeks, re-place them when something
changes (plan revised, clinician absent, availability changed, group cancelled), record
check-in and attendance, watch weekly hours, stop at discharge. Each runs in the caller's
transaction and writes state and outbox together; every change to the schedule first
takes the placement lock (see ``tables.PlacementLock``)."""

import asyncio
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import cast

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.contracts.base import Actor, Event
from services.contracts.codes import AttendanceMode, Discipline, MissedReason, Modality, Weekday
from services.contracts.envelope import EventContext
from services.contracts.events_aftercare import ParticipantDischarged
from services.contracts.events_planning import PlanCreated, PlanRevised
from services.contracts.events_scheduling import (
    HoursBelowMinimum,
    ScheduledSession,
    SchedulingFailed,
    SessionAttended,
    SessionCancelled,
    SessionMissed,
    SessionRescheduled,
    SessionsScheduled,
    UnmetRequirement,
)
from services.contracts.events_scheduling import WeekHours as WeekHoursSummary
from services.eventing.consumer import Handler, HandlerContext
from services.eventing.ids import new_id
from services.eventing.logging import get_logger
from services.eventing.outbox import Outbox
from services.web.refusals import Conflict, NotFound, Rejected

from .calendar_config import InvalidCalendar, ProgramCalendar, load_calendar, parse_calendar, seed_document
from .domain.availability import InvalidAvailability, check_availability
from .domain.changes import Booked, diff_schedule
from .domain.hours import SessionHours, WeekHours, week_hours
from .domain.local_time import local_day_bounds_utc, session_span_utc, to_local
from .domain.model import Load, Placement, Requirement, Window
from .domain.placement import place_weeks, weeks_ahead
from .settings import SchedulingSettings
from .tables import (
    CalendarDocument,
    ClinicianAbsence,
    GroupCancellation,
    HoursAlert,
    ParticipantSchedule,
    PlacementLock,
    Session,
)

log = get_logger(__name__)
OPEN = ("scheduled", "checked_in")


class UnknownSession(NotFound):
    """404: no such session, or not the caller's to see (the same answer)."""

    def __init__(self, session_id: str):
        super().__init__(f"unknown session: {session_id}")


class UnknownParticipant(NotFound):
    def __init__(self, participant_id: str):
        super().__init__(f"no schedule for participant: {participant_id}")


class UnknownResource(NotFound):
    """404: an unknown clinician or group (the message names which)."""


class AttendanceConflict(Conflict):
    """409: the session's state does not allow it (cancelled, already checked in, too early ...)."""


class ChangeRefused(Rejected):
    """422: an availability, an absence or a calendar that cannot be (the message says why)."""


@cache
def settings() -> SchedulingSettings:
    return SchedulingSettings()


# ---------------------------------------------------------------- store helpers

async def prepare_store(session: AsyncSession) -> None:
    """At start: the lock row and the calendar seeded from config/calendar.yaml."""
    if await session.get(PlacementLock, 1) is None:
        session.add(PlacementLock(id=1, counter=0))
    if await session.get(CalendarDocument, 1) is None:
        session.add(CalendarDocument(id=1, version=1, document_json=json.dumps(seed_document())))


async def claim_schedule(session: AsyncSession) -> None:
    """Write first: the transaction holds the database's write lock from here to its commit."""
    # an UPDATE's result is a CursorResult (rowcount); Session.execute is typed with the general Result
    result = cast(CursorResult, await session.execute(update(PlacementLock).where(PlacementLock.id == 1)
                                                      .values(counter=PlacementLock.counter + 1)))
    if result.rowcount == 0:
        session.add(PlacementLock(id=1, counter=1))
        await session.flush()


_parsed: dict[str, ProgramCalendar] = {}  # by document text: parsed once per edit


async def current_calendar(session: AsyncSession) -> tuple[int, ProgramCalendar]:
    doc = await session.get(CalendarDocument, 1)
    if doc is None:
        return 0, load_calendar()
    if doc.document_json not in _parsed:
        _parsed[doc.document_json] = parse_calendar(json.loads(doc.document_json))
    return doc.version, _parsed[doc.document_json]


def _who(actor: Actor | None) -> tuple[str | None, str | None]:
    """The columns recording who did it (none: scheduling did, on its own)."""
    return (actor.id, actor.role) if actor else (None, None)


async def replace_calendar(session: AsyncSession, document: dict, actor: Actor | None = None) -> int:
    """Validate and store an edited calendar; placements from now on use it. ChangeRefused with
    the reason when it is not a calendar."""
    try:
        parse_calendar(document)
    except InvalidCalendar as exc:
        raise ChangeRefused(str(exc)) from None
    await claim_schedule(session)
    doc = await session.get(CalendarDocument, 1)
    if doc is None:
        doc = CalendarDocument(id=1, version=0, document_json="")
        session.add(doc)
    doc.version += 1
    doc.document_json = json.dumps(document, default=str)
    doc.updated_by, doc.updated_by_role = _who(actor)
    return doc.version


def _requirements(state: ParticipantSchedule) -> list[Requirement]:
    return [Requirement(r["intervention_id"], Modality(r["modality"]), r["sessions"], r["minutes"],
                        Discipline(r["discipline"]), r["group"]) for r in json.loads(state.requirements_json)]


def _availability(state: ParticipantSchedule) -> list[Window]:
    return [Window(Weekday(w["day"]), time.fromisoformat(w["start"]), time.fromisoformat(w["end"]))
            for w in json.loads(state.availability_json)]


def availability_json(windows: list[Window]) -> str:
    return json.dumps([{"day": str(w.day), "start": w.start.isoformat(), "end": w.end.isoformat()}
                       for w in windows])


async def _load(session: AsyncSession, cal: ProgramCalendar, first: date, days: int,
                participant_id: str) -> tuple[Load, list[Session]]:
    """Everyone else's bookings, absences and cancelled groups in the period; and the participant's own."""
    tz = cal.timezone
    start_utc, end_utc = local_day_bounds_utc(first, days, tz)
    load = Load()
    others = (Session.starts_at < end_utc, Session.ends_at > start_utc, Session.status != "cancelled",
              Session.participant_id != participant_id)
    # seats taken per group meeting, counted by the database: a row per meeting, not per session
    for group_id, starts_at, seats in (await session.execute(
            select(Session.group_id, Session.starts_at, func.count())
            .where(*others, Session.group_id.is_not(None))
            .group_by(Session.group_id, Session.starts_at))).all():
        key = (group_id, to_local(starts_at, tz).date())
        load.group_seats[key] = load.group_seats.get(key, 0) + seats
    for clinician_id, starts_at, ends_at in (await session.execute(
            select(Session.clinician_id, Session.starts_at, Session.ends_at)
            .where(*others, Session.group_id.is_(None)))).all():
        load.clinician_busy.setdefault(clinician_id, []).append((to_local(starts_at, tz), to_local(ends_at, tz)))
    for a in (await session.scalars(select(ClinicianAbsence).where(
            ClinicianAbsence.starts_at < end_utc, ClinicianAbsence.ends_at > start_utc))).all():
        load.clinician_absent.setdefault(a.clinician_id, []).append((to_local(a.starts_at, tz),
                                                                     to_local(a.ends_at, tz)))
    for c in (await session.scalars(select(GroupCancellation).where(
            GroupCancellation.on_date >= first, GroupCancellation.on_date < first + timedelta(days=days)))).all():
        load.cancelled_groups.add((c.group_id, c.on_date))
    mine = (await session.scalars(select(Session).where(
        Session.participant_id == participant_id, Session.status != "cancelled"))).all()
    return load, list(mine)


def _week_of(d: date, weeks: list[date]) -> date:
    return next((w for w in weeks if w <= d < w + timedelta(days=7)), weeks[0])


def _place_for(state: ParticipantSchedule, cal: ProgramCalendar, p: Placement) -> str:
    if state.attendance_mode == AttendanceMode.TELEHEALTH:
        return "telehealth"
    g = cal.group(p.group_id)
    return g.place if g else "clinic"


def _scheduled_session(s: Session) -> ScheduledSession:
    return ScheduledSession(session_id=s.id, intervention_id=s.intervention_id, modality=Modality(s.modality),
                            starts_at=s.starts_at, ends_at=s.ends_at, group_id=s.group_id,
                            clinician_id=s.clinician_id, mode=AttendanceMode(s.mode), place=s.place,
                            week_start=s.week_start)


# ---------------------------------------------------------------- placement and re-placement

@dataclass(frozen=True)
class ScheduleOutcome:
    added: int
    moved: int
    cancelled: int
    unmet: int


async def schedule_participant(session: AsyncSession, outbox: Outbox, out: EventContext,
                               state: ParticipantSchedule, reason_code: str, now: datetime,
                               announce_weeks: bool = False, actor: Actor | None = None) -> ScheduleOutcome:
    """(Re-)place the participant's coming plan weeks; the caller holds the placement lock.
    ``actor``: who made the change through the API (none for a consumed event)."""
    _, cal = await current_calendar(session)
    tz = cal.timezone
    now_local = to_local(now, tz)
    weeks = weeks_ahead(state.start_date, state.expected_weeks, now_local.date(), settings().horizon_weeks)
    if not weeks:
        return ScheduleOutcome(0, 0, 0, 0)
    days = (weeks[-1] - weeks[0]).days + 7
    load, mine = await _load(session, cal, weeks[0], days, state.participant_id)
    ahead = [s for s in mine if s.status == "scheduled" and s.starts_at > now]
    fixed = [(to_local(s.starts_at, tz), to_local(s.ends_at, tz)) for s in mine if s not in ahead]
    preferred = {s.intervention_id: s.group_id or s.clinician_id for s in sorted(mine, key=lambda s: s.starts_at)}
    # the solver runs in a thread: the service's loop keeps serving HTTP and heartbeats meanwhile
    result = await asyncio.to_thread(
        place_weeks, weeks, _requirements(state), _availability(state), list(cal.groups), list(cal.clinicians),
        load, preferred_groups=preferred, not_before=now_local, fixed=fixed)
    by_id = {s.id: s for s in ahead}
    changes = diff_schedule([Booked(s.id, s.intervention_id, to_local(s.starts_at, tz), to_local(s.ends_at, tz),
                                    s.clinician_id, s.group_id) for s in ahead], result.placed)
    mode = AttendanceMode.TELEHEALTH if state.attendance_mode == AttendanceMode.TELEHEALTH \
        else AttendanceMode.IN_PERSON
    for b, _p in changes.kept:
        by_id[b.session_id].plan_version = state.plan_version
    for b, p in changes.moved:
        s = by_id[b.session_id]
        previous = s.starts_at
        s.starts_at, s.ends_at = session_span_utc(p.starts, int((p.ends - p.starts).total_seconds() // 60), tz)
        s.group_id, s.clinician_id, s.place = p.group_id, p.clinician_id, _place_for(state, cal, p)
        s.week_start, s.plan_version, s.revision = _week_of(p.starts.date(), weeks), state.plan_version, s.revision + 1
        outbox.add(SessionRescheduled(participant_id=s.participant_id, session_id=s.id, previous_starts_at=previous,
                                      starts_at=s.starts_at, ends_at=s.ends_at, reason_code=reason_code,
                                      group_id=s.group_id, clinician_id=s.clinician_id,
                                      plan_version=state.plan_version, actor=actor), out)
    for b in changes.cancelled:
        s = by_id[b.session_id]
        s.status, s.cancel_reason, s.revision = "cancelled", reason_code, s.revision + 1
        s.cancelled_by, s.cancelled_by_role = _who(actor)
        outbox.add(SessionCancelled(participant_id=s.participant_id, session_id=s.id, reason_code=reason_code,
                                    cancelled_at=now, starts_at=s.starts_at, actor=actor), out)
    added: dict[date, list[Session]] = {w: [] for w in weeks}
    for p in changes.added:
        starts, ends = session_span_utc(p.starts, int((p.ends - p.starts).total_seconds() // 60), tz)
        week = _week_of(p.starts.date(), weeks)
        s = Session(id=new_id("ses"), participant_id=state.participant_id, tenant_id=state.tenant_id,
                    program_id=state.program_id, plan_id=state.plan_id, plan_version=state.plan_version,
                    intervention_id=p.intervention_id, modality=str(p.modality), starts_at=starts, ends_at=ends,
                    week_start=week, group_id=p.group_id, clinician_id=p.clinician_id,
                    place=_place_for(state, cal, p), mode=str(mode), status="scheduled", revision=0)
        session.add(s)
        added[week].append(s)
    await session.flush()

    unmet_by_week: dict[date, list[UnmetRequirement]] = {w: [] for w in weeks}
    for u in result.unmet:
        assert u.week_start is not None  # place_weeks dates every unmet requirement
        unmet_by_week[u.week_start].append(UnmetRequirement(intervention_id=u.intervention_id,
                                                            sessions_missing=u.sessions_missing,
                                                            reason_code=u.reason_code, week_start=u.week_start))
    hours = {w: await weekly_hours(session, state, w) for w in weeks}
    short = any(h.scheduled < state.weekly_hours_minimum for h in hours.values())
    if announce_weeks or changes.added or result.unmet:
        # one announcement per placement, covering every week it placed
        outbox.add(SessionsScheduled(
            participant_id=state.participant_id, plan_id=state.plan_id, plan_version=state.plan_version,
            week_start=weeks[0], sessions=tuple(_scheduled_session(s) for w in weeks for s in added[w]),
            weekly_hours_scheduled=hours[weeks[0]].scheduled, weekly_hours_required=state.weekly_hours_minimum,
            unmet=tuple(u for w in weeks for u in unmet_by_week[w]), reason_code=reason_code,
            weeks=tuple(WeekHoursSummary(week_start=w, hours_scheduled=hours[w].scheduled,
                                         hours_required=state.weekly_hours_minimum) for w in weeks),
            actor=actor), out)
    for w in weeks:
        await _watch_hours(session, outbox, out, state, w, hours[w])
    if result.unmet and short:
        outbox.add(SchedulingFailed(participant_id=state.participant_id, plan_id=state.plan_id,
                                    plan_version=state.plan_version,
                                    reasons=tuple(u for w in weeks for u in unmet_by_week[w]), failed_at=now), out)
    log.info("schedule.placed", participant_id=state.participant_id, plan_version=state.plan_version,
             reason=reason_code, added=len(changes.added), moved=len(changes.moved),
             cancelled=len(changes.cancelled), unmet=len(result.unmet), optimal=result.optimal)
    return ScheduleOutcome(len(changes.added), len(changes.moved), len(changes.cancelled), len(result.unmet))


async def on_plan(ctx: HandlerContext, plan: PlanCreated | PlanRevised) -> None:
    revised = isinstance(plan, PlanRevised)
    await claim_schedule(ctx.session)
    state = await ctx.session.get(ParticipantSchedule, plan.participant_id)
    if state is not None and state.plan_id == plan.plan_id and plan.plan_version <= state.plan_version:
        log.info("plan.version_not_newer", participant_id=plan.participant_id, plan_version=plan.plan_version,
                 scheduled_version=state.plan_version)
        return
    if revised and state is not None and (state.plan_id != plan.plan_id or state.discharged):
        log.info("plan.revision_not_scheduled", participant_id=plan.participant_id, plan_id=plan.plan_id)
        return
    if state is None:
        state = ParticipantSchedule(participant_id=plan.participant_id)
        ctx.session.add(state)
    state.tenant_id, state.program_id = ctx.cause.tenantid, ctx.cause.programid
    state.plan_id, state.plan_version = plan.plan_id, plan.plan_version
    state.requirements_json = json.dumps([
        {"intervention_id": i.intervention_id, "modality": str(i.modality), "sessions": i.sessions_per_week,
         "minutes": i.minutes, "discipline": str(i.discipline), "group": i.group} for i in plan.interventions])
    state.availability_json = availability_json([Window(w.day, w.start, w.end) for w in plan.availability])
    state.weekly_hours_minimum = plan.weekly_hours_minimum
    state.start_date, state.expected_weeks = plan.start_date, plan.expected_weeks
    state.attendance_mode, state.discharged = str(plan.attendance_mode), False
    await schedule_participant(ctx.session, ctx.outbox, EventContext.caused_by(ctx.cause), state,
                               "plan_revised" if revised else "plan_created", datetime.now(UTC),
                               announce_weeks=True)


async def on_discharged(ctx: HandlerContext, event: ParticipantDischarged) -> None:
    """Scheduling stops at discharge: future sessions are cancelled."""
    await claim_schedule(ctx.session)
    now = datetime.now(UTC)
    state = await ctx.session.get(ParticipantSchedule, event.participant_id)
    if state is not None:
        state.discharged = True
    future = (await ctx.session.scalars(select(Session).where(
        Session.participant_id == event.participant_id, Session.status.in_(OPEN),
        Session.starts_at > now))).all()
    for s in future:
        s.status, s.cancel_reason, s.revision = "cancelled", "participant_discharged", s.revision + 1
        ctx.outbox.add(SessionCancelled(participant_id=s.participant_id, session_id=s.id,
                                        reason_code="participant_discharged", cancelled_at=now,
                                        starts_at=s.starts_at), EventContext.caused_by(ctx.cause))


# ---------------------------------------------------------------- changes through the API

async def _replan(session: AsyncSession, outbox: Outbox, participant_ids, reason_code: str,
                  now: datetime, actor: Actor | None) -> dict[str, ScheduleOutcome]:
    outcomes = {}
    for pid in sorted(set(participant_ids)):
        state = await session.get(ParticipantSchedule, pid)
        if state is None or state.discharged:
            continue
        outcomes[pid] = await schedule_participant(session, outbox, EventContext.new(state.tenant_id,
                                                                                      state.program_id),
                                                   state, reason_code, now, actor=actor)
    return outcomes


async def change_availability(session: AsyncSession, outbox: Outbox, participant_id: str,
                              windows: list[Window], now: datetime | None = None,
                              actor: Actor | None = None) -> ScheduleOutcome:
    """Refused (ChangeRefused) when windows overlap or are impossible; else re-placed."""
    try:
        ordered = check_availability(windows)
    except InvalidAvailability as exc:
        raise ChangeRefused(f"availability refused: {exc}") from None
    await claim_schedule(session)
    state = await session.get(ParticipantSchedule, participant_id)
    if state is None:
        raise UnknownParticipant(participant_id)
    state.availability_json = availability_json(ordered)
    if state.discharged:
        return ScheduleOutcome(0, 0, 0, 0)
    return (await _replan(session, outbox, [participant_id], "availability_changed",
                          now or datetime.now(UTC), actor))[participant_id]


async def record_clinician_absence(session: AsyncSession, outbox: Outbox, clinician_id: str,
                                   starts_at: datetime, ends_at: datetime, reason_code: str,
                                   now: datetime | None = None, actor: Actor | None = None
                                   ) -> tuple[str, dict[str, ScheduleOutcome]]:
    now = now or datetime.now(UTC)
    if ends_at <= starts_at:
        raise ChangeRefused("the absence ends before it starts")
    await claim_schedule(session)
    _, cal = await current_calendar(session)
    known = {c.clinician_id for c in cal.clinicians} | {g.clinician_id for g in cal.groups}
    if clinician_id not in known:
        raise UnknownResource(f"unknown clinician: {clinician_id}")
    by, role = _who(actor)
    absence = ClinicianAbsence(id=new_id("abs"), clinician_id=clinician_id, starts_at=starts_at, ends_at=ends_at,
                               reason_code=reason_code, recorded_by=by, recorded_by_role=role)
    session.add(absence)
    hit = (await session.scalars(select(Session.participant_id).where(
        Session.clinician_id == clinician_id, Session.status == "scheduled", Session.starts_at > now,
        Session.starts_at < ends_at, Session.ends_at > starts_at))).all()
    return absence.id, await _replan(session, outbox, hit, "clinician_absent", now, actor)


async def cancel_group_meeting(session: AsyncSession, outbox: Outbox, group_id: str, on: date,
                               reason_code: str, now: datetime | None = None, actor: Actor | None = None
                               ) -> dict[str, ScheduleOutcome]:
    now = now or datetime.now(UTC)
    await claim_schedule(session)
    _, cal = await current_calendar(session)
    if cal.group(group_id) is None:
        raise UnknownResource(f"unknown group: {group_id}")
    if await session.get(GroupCancellation, (group_id, on)) is None:
        by, role = _who(actor)
        session.add(GroupCancellation(group_id=group_id, on_date=on, reason_code=reason_code, recorded_by=by,
                                      recorded_by_role=role))
    start_utc, end_utc = local_day_bounds_utc(on, 1, cal.timezone)
    hit = (await session.scalars(select(Session.participant_id).where(
        Session.group_id == group_id, Session.status == "scheduled", Session.starts_at > now,
        Session.starts_at >= start_utc, Session.starts_at < end_utc))).all()
    await session.flush()
    return await _replan(session, outbox, hit, "group_cancelled", now, actor)


# ---------------------------------------------------------------- attendance and hours

@dataclass(frozen=True)
class AttendanceRecord:
    attended: bool
    minutes_attended: int | None = None
    reason: MissedReason | None = None


async def _open_session(session: AsyncSession, session_id: str, now: datetime, any_time: bool | None) -> Session:
    s = await session.get(Session, session_id)
    if s is None:
        raise UnknownSession(session_id)
    if s.status not in OPEN:
        raise AttendanceConflict(f"session {session_id} is {s.status}")
    any_time = settings().any_time() if any_time is None else any_time
    if not any_time and now < s.starts_at - timedelta(minutes=settings().check_in_opens_minutes):
        raise AttendanceConflict(f"session {session_id} starts at {s.starts_at.isoformat()}: too early")
    return s


async def check_in(session: AsyncSession, outbox: Outbox, session_id: str, *, now: datetime | None = None,
                   any_time: bool | None = None, actor: Actor | None = None) -> Session:
    now = now or datetime.now(UTC)
    await claim_schedule(session)
    s = await _open_session(session, session_id, now, any_time)
    if s.status == "checked_in":
        raise AttendanceConflict(f"session {session_id} is checked_in already")
    s.status, s.checked_in_at = "checked_in", now
    s.checked_in_by, s.checked_in_by_role = _who(actor)
    return s


async def record_attendance(session: AsyncSession, outbox: Outbox, session_id: str, record: AttendanceRecord,
                            *, now: datetime | None = None, any_time: bool | None = None,
                            actor: Actor | None = None) -> Session:
    now = now or datetime.now(UTC)
    await claim_schedule(session)
    s = await _open_session(session, session_id, now, any_time)
    length = int((s.ends_at - s.starts_at).total_seconds() // 60)
    ctx = EventContext.new(s.tenant_id, s.program_id)
    if record.attended:
        minutes = length if record.minutes_attended is None else record.minutes_attended
        if minutes > length:
            raise AttendanceConflict(f"minutes_attended {minutes} exceeds the session's {length} minutes")
        s.status, s.minutes_attended = "attended", minutes
        s.recorded_by, s.recorded_by_role = _who(actor)
        outbox.add(SessionAttended(participant_id=s.participant_id, session_id=s.id, plan_id=s.plan_id,
                                   modality=Modality(s.modality), minutes_attended=minutes,
                                   attended_at=now, actor=actor), ctx)
    else:
        if s.status == "checked_in":
            raise AttendanceConflict(f"session {session_id} is checked_in: record the minutes attended")
        s.status, s.missed_reason = "missed", record.reason
        s.recorded_by, s.recorded_by_role = _who(actor)
        outbox.add(SessionMissed(participant_id=s.participant_id, session_id=s.id, plan_id=s.plan_id,
                                 modality=Modality(s.modality), reason=record.reason or MissedReason.NO_SHOW,
                                 recorded_at=now, actor=actor), ctx)
    await _after_change(session, outbox, ctx, s)
    return s


async def cancel_session(session: AsyncSession, outbox: Outbox, session_id: str, reason_code: str,
                         *, now: datetime | None = None, actor: Actor | None = None) -> Session:
    now = now or datetime.now(UTC)
    await claim_schedule(session)
    s = await session.get(Session, session_id)
    if s is None:
        raise UnknownSession(session_id)
    if s.status not in OPEN:
        raise AttendanceConflict(f"session {session_id} is {s.status}")
    s.status, s.cancel_reason, s.revision = "cancelled", reason_code, s.revision + 1
    s.cancelled_by, s.cancelled_by_role = _who(actor)
    ctx = EventContext.new(s.tenant_id, s.program_id)
    outbox.add(SessionCancelled(participant_id=s.participant_id, session_id=s.id, reason_code=reason_code,
                                cancelled_at=now, starts_at=s.starts_at, actor=actor), ctx)
    await _after_change(session, outbox, ctx, s)
    return s


async def _after_change(session: AsyncSession, outbox: Outbox, ctx: EventContext, s: Session) -> None:
    state = await session.get(ParticipantSchedule, s.participant_id)
    if state is None or s.week_start is None:
        return
    await session.flush()
    await _watch_hours(session, outbox, ctx, state, s.week_start, await weekly_hours(session, state, s.week_start))


async def weekly_hours(session: AsyncSession, state: ParticipantSchedule, week_start: date) -> WeekHours:
    rows = (await session.scalars(select(Session).where(Session.participant_id == state.participant_id,
                                                        Session.week_start == week_start))).all()
    return week_hours(week_start, [SessionHours(week_start, s.starts_at,  # the rows of that week
                                                int((s.ends_at - s.starts_at).total_seconds() // 60), s.status,
                                                s.minutes_attended) for s in rows], state.weekly_hours_minimum)


async def _watch_hours(session: AsyncSession, outbox: Outbox, ctx: EventContext, state: ParticipantSchedule,
                       week_start: date, hours: WeekHours) -> None:
    """HoursBelowMinimum as soon as the week cannot reach the minimum, once per week."""
    if not hours.cannot_reach_minimum or state.discharged:
        return
    if await session.get(HoursAlert, (state.participant_id, week_start)) is not None:
        return
    session.add(HoursAlert(participant_id=state.participant_id, week_start=week_start))
    outbox.add(HoursBelowMinimum(participant_id=state.participant_id, plan_id=state.plan_id, week_start=week_start,
                                 hours_scheduled=hours.scheduled, hours_attended=hours.attended,
                                 hours_required=hours.required, hours_still_possible=hours.still_possible), ctx)


HANDLERS: dict[type[Event], Handler] = {PlanCreated: on_plan, PlanRevised: on_plan,
                                        ParticipantDischarged: on_discharged}
