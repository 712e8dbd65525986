"""Aftercare's HTTP routes: the flow's open call, check-ins, and a participant's aftercare."""

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from .domain.follow_up_rules import CheckIn
from .handlers import Aftercare, FollowUpConflict, UnknownFollowUp
from .tables import AftercarePlan, FollowUp

router = APIRouter(tags=["aftercare"])


class RecordCheckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phq9_total: int = Field(ge=0, le=27)
    phq9_item9: int = Field(ge=0, le=3)
    substance_use_since_last_contact: bool
    engaged_with_step_down_provider: bool
    housing_stable: bool
    work_or_school_stable: bool
    how_they_say_they_are: str = Field(default="", max_length=4000, description="stays in aftercare")


def _aftercare(request: Request) -> Aftercare:
    return request.app.state.runtime.extras["aftercare"]


def _follow_up(fu: FollowUp) -> dict:
    return {"follow_up_id": fu.id, "day_offset": fu.day_offset, "due_at": fu.due_at.isoformat(),
            "flow_run_id": fu.flow_run_id, "status": fu.status, "result": fu.result}


@router.post("/follow-ups/{follow_up_id}/open")
async def open_follow_up(follow_up_id: str, request: Request) -> dict:
    try:
        async with request.app.state.runtime.unit_of_work() as uow:
            fu = await _aftercare(request).open_check_in(uow.session, follow_up_id)
    except UnknownFollowUp:
        raise HTTPException(404, f"unknown follow-up: {follow_up_id}") from None
    return _follow_up(fu)


@router.post("/follow-ups/{follow_up_id}/check-in")
async def post_check_in(follow_up_id: str, body: RecordCheckIn, request: Request) -> dict:
    check_in = CheckIn(**body.model_dump(exclude={"how_they_say_they_are"}))
    try:
        async with request.app.state.runtime.unit_of_work() as uow:
            fu = await _aftercare(request).record_check_in(uow.session, uow.outbox, follow_up_id, check_in)
    except UnknownFollowUp:
        raise HTTPException(404, f"unknown follow-up: {follow_up_id}") from None
    except FollowUpConflict as exc:
        raise HTTPException(409, str(exc)) from None
    return _follow_up(fu)


@router.get("/participants/{participant_id}/aftercare")
async def get_aftercare(participant_id: str, request: Request) -> dict:
    async with request.app.state.runtime.db.sessions() as s:
        plans = (await s.scalars(select(AftercarePlan).where(AftercarePlan.participant_id == participant_id)
                                 .order_by(AftercarePlan.created_at))).all()
        follow_ups = (await s.scalars(select(FollowUp).where(FollowUp.participant_id == participant_id)
                                      .order_by(FollowUp.due_at))).all()
    if not plans:
        raise HTTPException(404, f"no aftercare for participant: {participant_id}")
    p = plans[-1]
    return {"aftercare_plan_id": p.id, "episode_id": p.episode_id, "step_down_level_of_care": p.step_down_level,
            "services": p.services, "discharged_on": p.discharged_on.isoformat(),
            "confirmed_by_participant": p.confirmed_by_participant,
            "follow_ups": [_follow_up(f) for f in follow_ups]}
