"""Scheduling's HTTP routes: a participant's sessions, hours and availability; check-in,
attendance and cancellation; clinicians' absences and cancelled groups; the program
calendar; iCalendar feeds. Thin: each route calls one handler in one unit of work.

Each route needs a bearer token whose role grants it; a participant or session outside the
token's tenant and programs answers 404 like one that does not exist, and lists show only the
caller's scope. Each access to participant data is audited. Who acts (checks in, records
attendance, cancels, changes availability, records an absence ...) is the token's subject and
role (``access.actor``), recorded on the rows and in the events; no body names an actor."""

import json
from datetime import date
from typing import Literal

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, RootModel, StrictInt, model_validator
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.contracts.base import Id
from services.contracts.codes import MissedReason, Weekday
from services.eventing.unit_of_work import UnitOfWork
from services.security.dependencies import Access, authorized
from services.security.roles import Permission
from services.web.commands import Command, Commands
from services.web.error_responses import errors
from services.web.request_types import TimeOfDay

from . import ics
from .domain.model import Window
from .handlers import (
    AttendanceRecord,
    ScheduleOutcome,
    UnknownParticipant,
    UnknownSession,
    cancel_group_meeting,
    cancel_session,
    change_availability,
    check_in,
    current_calendar,
    record_attendance,
    record_clinician_absence,
    replace_calendar,
    weekly_hours,
)
from .tables import CalendarDocument, IdempotentRequest, ParticipantSchedule, Session

router = APIRouter(tags=["scheduling"])
commands = Commands(IdempotentRequest)
"""Every command: authorized and audited, scoped, one unit of work, ``Idempotency-Key`` honoured,
refusals (UnknownSession 404, AttendanceConflict 409, ChangeRefused 422 ...) answered as documented."""
ReasonCode = Field(pattern=r"^[a-z0-9_]{1,40}$")


def _runtime(request: Request):
    return request.app.state.runtime


def _session_view(s: Session) -> dict:
    return {"session_id": s.id, "intervention_id": s.intervention_id, "modality": s.modality,
            "starts_at": s.starts_at.isoformat(), "ends_at": s.ends_at.isoformat(),
            "week_start": s.week_start.isoformat() if s.week_start else None, "group_id": s.group_id,
            "clinician_id": s.clinician_id, "place": s.place, "mode": s.mode, "status": s.status,
            "plan_version": s.plan_version, "minutes_attended": s.minutes_attended,
            "missed_reason": s.missed_reason, "cancel_reason": s.cancel_reason,
            "checked_in_by": _by(s.checked_in_by, s.checked_in_by_role),
            "recorded_by": _by(s.recorded_by, s.recorded_by_role),
            "cancelled_by": _by(s.cancelled_by, s.cancelled_by_role)}


def _by(subject: str | None, role: str | None) -> dict | None:
    return {"id": subject, "role": role} if subject else None


def _outcome(o: ScheduleOutcome) -> dict:
    return {"added": o.added, "moved": o.moved, "cancelled": o.cancelled, "unmet": o.unmet}


async def _session_in_scope(db: AsyncSession, access: Access, session_id: str) -> None:
    s = await db.get(Session, session_id)
    if s is None or not access.admits(s.participant_id, s.tenant_id, s.program_id):
        raise UnknownSession(session_id)
    access.resource = f"session:{session_id}"


async def _participant_in_scope(db: AsyncSession, access: Access, participant_id: str) -> bool:
    """Whether the participant (known by their schedule, or their sessions) is the caller's to see."""
    row = await db.get(ParticipantSchedule, participant_id) or await db.scalar(
        select(Session).where(Session.participant_id == participant_id).limit(1))
    access.resource = f"participant:{participant_id}"
    return row is not None and access.admits(participant_id, row.tenant_id, row.program_id)


async def _visible(db: AsyncSession, access: Access, outcomes: dict) -> dict:
    """Only the caller's participants of a change that touched several."""
    shown = {}
    for pid, o in outcomes.items():
        row = await db.get(ParticipantSchedule, pid)
        if row is not None and access.principal.in_scope(row.tenant_id, row.program_id):
            access.saw(pid, row.program_id)
            shown[pid] = _outcome(o)
    return shown


class RecordAttendance(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["attended", "missed"]
    minutes_attended: StrictInt | None = Field(default=None, ge=1, le=600)
    reason: MissedReason | None = None

    @model_validator(mode="after")
    def reason_when_missed(self) -> "RecordAttendance":
        if self.status == "missed" and self.reason is None:
            raise ValueError("reason is required when status is 'missed'")
        return self


@router.post("/sessions/{session_id}/attendance", responses=errors(404, 409))
async def post_attendance(session_id: Id, body: RecordAttendance,
                          cmd: Command = commands.authorized(Permission.ATTENDANCE_WRITE, "attendance.record")
                          ) -> JSONResponse:
    record = AttendanceRecord(body.status == "attended", body.minutes_attended, body.reason)

    async def act(uow: UnitOfWork) -> dict:
        s = await record_attendance(uow.session, uow.outbox, session_id, record, actor=cmd.access.actor)
        return {"session_id": s.id, "status": s.status, "minutes_attended": s.minutes_attended}
    return await cmd.run(act, body=body, scope=lambda db: _session_in_scope(db, cmd.access, session_id))


@router.post("/sessions/{session_id}/check-in", responses=errors(404, 409))
async def post_check_in(session_id: Id,
                        cmd: Command = commands.authorized(Permission.ATTENDANCE_WRITE, "session.check_in")
                        ) -> JSONResponse:
    async def act(uow: UnitOfWork) -> dict:
        s = await check_in(uow.session, uow.outbox, session_id, actor=cmd.access.actor)
        assert s.checked_in_at is not None  # check_in sets it
        return {"session_id": s.id, "status": s.status, "checked_in_at": s.checked_in_at.isoformat()}
    return await cmd.run(act, scope=lambda db: _session_in_scope(db, cmd.access, session_id))


class CancelSession(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason_code: str = ReasonCode


@router.post("/sessions/{session_id}/cancellation", responses=errors(404, 409))
async def post_cancellation(session_id: Id, body: CancelSession,
                            cmd: Command = commands.authorized(Permission.ATTENDANCE_WRITE, "session.cancel")
                            ) -> JSONResponse:
    async def act(uow: UnitOfWork) -> dict:
        s = await cancel_session(uow.session, uow.outbox, session_id, body.reason_code, actor=cmd.access.actor)
        return {"session_id": s.id, "status": s.status, "cancel_reason": s.cancel_reason}
    return await cmd.run(act, body=body, scope=lambda db: _session_in_scope(db, cmd.access, session_id))


async def _sessions_of(request: Request, access: Access, participant_id: Id) -> list[Session]:
    async with _runtime(request).db.sessions() as db:
        if not await _participant_in_scope(db, access, participant_id):
            return []
        return list((await db.scalars(select(Session).where(Session.participant_id == participant_id)
                                      .order_by(Session.starts_at))).all())


@router.get("/participants/{participant_id}/sessions", responses=errors(404))
async def get_sessions(participant_id: Id, request: Request,
                       access: Access = authorized(Permission.SESSIONS_READ, "sessions.read")) -> dict:
    rows = await _sessions_of(request, access, participant_id)
    if not rows:
        raise HTTPException(404, f"no sessions for participant: {participant_id}")
    return {
        "participant_id": participant_id,
        "sessions": [_session_view(s) for s in rows],
        "hours_scheduled": round(sum((s.ends_at - s.starts_at).total_seconds() for s in rows
                                     if s.status != "cancelled") / 3600, 2),
        "hours_attended": round(sum(s.minutes_attended or 0 for s in rows) / 60, 2),
    }


@router.get("/participants/{participant_id}/hours", responses=errors(404))
async def get_hours(participant_id: Id, request: Request,
                    access: Access = authorized(Permission.SESSIONS_READ, "hours.read")) -> dict:
    """Per plan week: hours scheduled, attended, still possible and required."""
    async with _runtime(request).db.sessions() as db:
        state = await db.get(ParticipantSchedule, participant_id)
        if state is None or not await _participant_in_scope(db, access, participant_id):
            raise HTTPException(404, f"no schedule for participant: {participant_id}")
        weeks = sorted(set((await db.scalars(select(Session.week_start).where(
            Session.participant_id == participant_id, Session.week_start.is_not(None)))).all()))
        hours = [await weekly_hours(db, state, w) for w in weeks]
    return {"participant_id": participant_id, "plan_id": state.plan_id, "plan_version": state.plan_version,
            "weeks": [{"week_start": h.week_start.isoformat(), "hours_scheduled": h.scheduled,
                       "hours_attended": h.attended, "hours_still_possible": h.still_possible,
                       "hours_required": h.required, "below_minimum": h.cannot_reach_minimum} for h in hours]}


class AvailabilityWindowIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    day: Weekday
    start: TimeOfDay
    end: TimeOfDay


class ChangeAvailability(BaseModel):
    model_config = ConfigDict(extra="forbid")

    windows: list[AvailabilityWindowIn] = Field(max_length=28)


@router.put("/participants/{participant_id}/availability", responses=errors(404))
async def put_availability(participant_id: Id, body: ChangeAvailability,
                           cmd: Command = commands.authorized(Permission.AVAILABILITY_WRITE, "availability.change")
                           ) -> JSONResponse:
    """422 (availability refused: why) when windows overlap or are impossible; else re-placed."""
    windows = [Window(w.day, w.start, w.end) for w in body.windows]

    async def in_scope(db: AsyncSession) -> None:
        if not await _participant_in_scope(db, cmd.access, participant_id):
            raise UnknownParticipant(participant_id)

    async def act(uow: UnitOfWork) -> dict:
        outcome = await change_availability(uow.session, uow.outbox, participant_id, windows,
                                            actor=cmd.access.actor)
        return {"participant_id": participant_id, **_outcome(outcome)}
    return await cmd.run(act, body=body, scope=in_scope)


class ClinicianAbsenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    starts_at: AwareDatetime
    ends_at: AwareDatetime
    reason_code: str = ReasonCode


@router.post("/clinicians/{clinician_id}/absences", status_code=201, responses=errors(404))
async def post_absence(clinician_id: Id, body: ClinicianAbsenceIn,
                       cmd: Command = commands.authorized(Permission.STAFFING_WRITE, "clinician_absence.record")
                       ) -> JSONResponse:
    """Re-places the sessions the absence touches; the answer lists the caller's participants only."""
    cmd.access.resource = f"clinician:{clinician_id}"

    async def act(uow: UnitOfWork) -> dict:
        absence_id, outcomes = await record_clinician_absence(uow.session, uow.outbox, clinician_id,
                                                              body.starts_at, body.ends_at, body.reason_code,
                                                              actor=cmd.access.actor)
        return {"absence_id": absence_id, "participants": await _visible(uow.session, cmd.access, outcomes)}
    return await cmd.run(act, body=body)


class GroupCancellationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    on: date = Field(description="The meeting's date, in the program's time zone")
    reason_code: str = ReasonCode


@router.post("/groups/{group_id}/cancellations", status_code=201, responses=errors(404))
async def post_group_cancellation(group_id: Id, body: GroupCancellationIn,
                                  cmd: Command = commands.authorized(Permission.STAFFING_WRITE, "group_meeting.cancel")
                                  ) -> JSONResponse:
    cmd.access.resource = f"group:{group_id}"

    async def act(uow: UnitOfWork) -> dict:
        outcomes = await cancel_group_meeting(uow.session, uow.outbox, group_id, body.on, body.reason_code,
                                              actor=cmd.access.actor)
        return {"group_id": group_id, "on": body.on.isoformat(),
                "participants": await _visible(uow.session, cmd.access, outcomes)}
    return await cmd.run(act, body=body)


@router.get("/calendar")
async def get_calendar(request: Request, _: Access = authorized(Permission.SESSIONS_READ)) -> dict:
    async with _runtime(request).db.sessions() as db:
        doc = await db.get(CalendarDocument, 1)
        version, cal = await current_calendar(db)
    return {"version": version, "timezone": str(cal.timezone),
            "document": json.loads(doc.document_json) if doc else None}


@router.put("/calendar")
async def put_calendar(document: dict,
                       cmd: Command = commands.authorized(Permission.STAFFING_WRITE, "calendar.replace")
                       ) -> JSONResponse:
    """Replace the program calendar (the shape of config/calendar.yaml). Sessions already
    placed stay; placements from now on use the new calendar. 422 naming why it is not one."""
    async def act(uow: UnitOfWork) -> dict:
        return {"version": await replace_calendar(uow.session, document, cmd.access.actor)}
    return await cmd.run(act, body=RootModel[dict](document))  # the key's fingerprint covers the document


ICS = "text/calendar; charset=utf-8"
ICS_FEED = {"description": "An iCalendar feed (RFC 5545)", "content": {"text/calendar": {"schema": {"type": "string"}}}}


@router.get("/participants/{participant_id}/calendar.ics", response_class=Response,
            responses={200: ICS_FEED, **errors(404)})
async def participant_feed(participant_id: Id, request: Request,
                           access: Access = authorized(Permission.SESSIONS_READ, "calendar_feed.read")) -> Response:
    rows = await _sessions_of(request, access, participant_id)
    if not rows:
        raise HTTPException(404, f"no sessions for participant: {participant_id}")
    return Response(ics.feed(f"Continuum sessions {participant_id}", rows), media_type=ICS)


@router.get("/clinicians/{clinician_id}/calendar.ics", response_class=Response, responses={200: ICS_FEED})
async def clinician_feed(clinician_id: Id, request: Request,
                         access: Access = authorized(Permission.SESSIONS_READ, "clinician_feed.read")) -> Response:
    """The clinician's sessions with participants of the caller's tenant and programs."""
    access.resource = f"clinician:{clinician_id}"
    async with _runtime(request).db.sessions() as db:
        rows = (await db.scalars(select(Session).where(
            Session.clinician_id == clinician_id, Session.tenant_id == access.tenant,
            Session.program_id.in_(access.principal.programs)).order_by(Session.starts_at))).all()
    for r in rows:
        access.saw(r.participant_id, r.program_id)
    return Response(ics.feed(f"Continuum sessions {clinician_id}", rows), media_type=ICS)
