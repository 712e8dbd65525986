"""Scheduling's HTTP routes: attendance, and a participant's sessions."""

from typing import Literal

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import select

from services.contracts.codes import MissedReason

from .handlers import AttendanceConflict, AttendanceRecord, UnknownSession, record_attendance
from .tables import Session

router = APIRouter(tags=["scheduling"])


class RecordAttendance(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["attended", "missed"]
    minutes_attended: int | None = Field(default=None, ge=1, le=600)
    reason: MissedReason | None = None

    @model_validator(mode="after")
    def reason_when_missed(self) -> "RecordAttendance":
        if self.status == "missed" and self.reason is None:
            raise ValueError("reason is required when status is 'missed'")
        return self


@router.post("/sessions/{session_id}/attendance")
async def post_attendance(session_id: str, body: RecordAttendance, request: Request) -> dict:
    record = AttendanceRecord(body.status == "attended", body.minutes_attended, body.reason)
    try:
        async with request.app.state.runtime.unit_of_work() as uow:
            s = await record_attendance(uow.session, uow.outbox, session_id, record)
    except UnknownSession:
        raise HTTPException(404, f"unknown session: {session_id}") from None
    except AttendanceConflict as exc:
        raise HTTPException(409, str(exc)) from None
    return {"session_id": s.id, "status": s.status, "minutes_attended": s.minutes_attended}


@router.get("/participants/{participant_id}/sessions")
async def get_sessions(participant_id: str, request: Request) -> dict:
    async with request.app.state.runtime.db.sessions() as db:
        rows = (await db.scalars(select(Session).where(Session.participant_id == participant_id)
                                 .order_by(Session.starts_at))).all()
    if not rows:
        raise HTTPException(404, f"no sessions for participant: {participant_id}")
    return {
        "participant_id": participant_id,
        "sessions": [{"session_id": s.id, "modality": s.modality, "starts_at": s.starts_at.isoformat(),
                      "ends_at": s.ends_at.isoformat(), "group_id": s.group_id, "clinician_id": s.clinician_id,
                      "status": s.status, "minutes_attended": s.minutes_attended} for s in rows],
        "hours_scheduled": round(sum((s.ends_at - s.starts_at).total_seconds() for s in rows
                                     if s.status != "cancelled") / 3600, 2),
        "hours_attended": round(sum(s.minutes_attended or 0 for s in rows) / 60, 2),
    }
