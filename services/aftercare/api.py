"""Aftercare's HTTP routes: the flow runs' open and grace-check calls, check-ins, the
aftercare plan and its relapse-prevention plan (reviewed and confirmed with the
participant), the reminder contact, outreach tasks and the follow-up measures."""

from datetime import datetime

from fastapi import APIRouter, HTTPException, Query, Request
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, EmailStr, Field, StrictBool, StrictInt, StringConstraints

from services.contracts.base import Id
from sqlalchemy import select

from services.web.error_responses import errors

from .domain.follow_up_rules import CheckIn
from .handlers import Aftercare, FollowUpConflict, NoAftercarePlan, UnknownFollowUp
from .notifications import ReminderNotSent
from .tables import AftercarePlan, FollowUp, OutreachTask

router = APIRouter(tags=["aftercare"])

Line = Annotated[str, StringConstraints(min_length=1, max_length=1000)]
Lines = Annotated[list[Line], Field(min_length=1, max_length=30)]


class RecordCheckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phq9_total: StrictInt = Field(ge=0, le=27)
    phq9_item9: StrictInt = Field(ge=0, le=3)
    substance_use_since_last_contact: StrictBool
    engaged_with_step_down_provider: StrictBool
    housing_stable: StrictBool
    work_or_school_stable: StrictBool
    how_they_say_they_are: str = Field(default="", max_length=4000, description="stays in aftercare")


class FlowCall(BaseModel):
    """What a flow run sends: the time by its clock (time is a parameter; defaults to now)."""

    model_config = ConfigDict(extra="forbid")
    as_of: AwareDatetime | None = None


class Support(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    relationship: str = Field(default="", max_length=100)
    phone: str = Field(default="", max_length=40, pattern=r"^(\+?[0-9 ()-]{5,40})?$")


class RelapsePreventionPlan(BaseModel):
    """Written with the participant; stays in aftercare's store (events carry only its id)."""

    model_config = ConfigDict(extra="forbid")

    triggers: Lines
    warning_signs: Lines
    coping_strategies: Lines
    supports: list[Support] = Field(min_length=1, max_length=20)
    crisis_resources: Lines


class Confirmation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    confirmed_by_participant: StrictBool = Field(description="must be true: the participant agreed to the plan")
    reviewed_with: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$",
                               description="staff id of who reviewed it with them")


class Contact(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr


def _aftercare(request: Request) -> Aftercare:
    return request.app.state.runtime.extras["aftercare"]


def _uow(request: Request):
    return request.app.state.runtime.unit_of_work()


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t else None


def _follow_up(fu: FollowUp) -> dict:
    return {"follow_up_id": fu.id, "day_offset": fu.day_offset, "due_at": fu.due_at.isoformat(),
            "grace_until": _iso(fu.grace_until), "flow_run_id": fu.flow_run_id,
            "grace_check_flow_run_id": fu.grace_flow_run_id, "status": fu.status, "result": fu.result,
            "reminder_channel": fu.reminder_channel, "opened_at": _iso(fu.opened_at),
            "completed_at": _iso(fu.completed_at), "missed_at": _iso(fu.missed_at),
            "escalation_level": fu.escalation_level, "cancel_reason": fu.cancel_reason}


def _task(t: OutreachTask) -> dict:
    return {"outreach_task_id": t.id, "participant_id": t.participant_id, "follow_up_id": t.follow_up_id,
            "escalation_level": t.escalation_level, "assignee_role": t.assignee_role,
            "respond_by": t.respond_by.isoformat(), "status": t.status}


def _plan(p: AftercarePlan) -> dict:
    return {"aftercare_plan_id": p.id, "episode_id": p.episode_id, "step_down_level_of_care": p.step_down_level,
            "services": p.services, "discharged_on": p.discharged_on.isoformat(),
            "discharged_at": _iso(p.discharged_at), "relapse_prevention_plan_id": p.relapse_prevention_plan_id,
            "relapse_prevention": p.relapse_prevention or None,
            "confirmed_by_participant": p.confirmed_by_participant, "confirmed_at": _iso(p.confirmed_at),
            "reviewed_with": p.reviewed_with}


@router.post("/follow-ups/{follow_up_id}/open", responses=errors(404, 503))
async def open_follow_up(follow_up_id: Id, request: Request, body: FlowCall | None = None) -> dict:
    try:
        async with _uow(request) as uow:
            fu = await _aftercare(request).open_check_in(uow.session, follow_up_id, body.as_of if body else None)
    except UnknownFollowUp:
        raise HTTPException(404, f"unknown follow-up: {follow_up_id}") from None
    except ReminderNotSent as exc:  # nothing changed (the transaction rolled back): the flow run retries
        raise HTTPException(503, str(exc), headers={"Retry-After": "20"}) from None
    return _follow_up(fu)


@router.post("/follow-ups/{follow_up_id}/grace-check", responses=errors(404))
async def grace_check(follow_up_id: Id, request: Request, body: FlowCall | None = None) -> dict:
    try:
        async with _uow(request) as uow:
            fu, outcome = await _aftercare(request).grace_check(uow.session, uow.outbox, follow_up_id,
                                                                body.as_of if body else None)
    except UnknownFollowUp:
        raise HTTPException(404, f"unknown follow-up: {follow_up_id}") from None
    return {**_follow_up(fu), "grace_outcome": str(outcome)}


@router.post("/follow-ups/{follow_up_id}/check-in", responses=errors(404, 409))
async def post_check_in(follow_up_id: Id, body: RecordCheckIn, request: Request) -> dict:
    check_in = CheckIn(**body.model_dump(exclude={"how_they_say_they_are"}))
    try:
        async with _uow(request) as uow:
            fu = await _aftercare(request).record_check_in(uow.session, uow.outbox, follow_up_id, check_in,
                                                           body.how_they_say_they_are)
    except UnknownFollowUp:
        raise HTTPException(404, f"unknown follow-up: {follow_up_id}") from None
    except FollowUpConflict as exc:
        raise HTTPException(409, str(exc)) from None
    return _follow_up(fu)


@router.get("/participants/{participant_id}/aftercare", responses=errors(404))
async def get_aftercare(participant_id: Id, request: Request) -> dict:
    async with request.app.state.runtime.db.sessions() as s:
        plans = (await s.scalars(select(AftercarePlan).where(AftercarePlan.participant_id == participant_id)
                                 .order_by(AftercarePlan.created_at))).all()
        follow_ups = (await s.scalars(select(FollowUp).where(FollowUp.participant_id == participant_id)
                                      .order_by(FollowUp.due_at))).all()
        tasks = (await s.scalars(select(OutreachTask).where(OutreachTask.participant_id == participant_id)
                                 .order_by(OutreachTask.created_at))).all()
    if not plans:
        raise HTTPException(404, f"no aftercare for participant: {participant_id}")
    return {**_plan(plans[-1]), "follow_ups": [_follow_up(f) for f in follow_ups],
            "outreach_tasks": [_task(t) for t in tasks]}


@router.put("/participants/{participant_id}/aftercare/relapse-prevention-plan", responses=errors(404))
async def put_relapse_prevention_plan(participant_id: Id, body: RelapsePreventionPlan, request: Request) -> dict:
    try:
        async with _uow(request) as uow:
            plan = await _aftercare(request).write_relapse_prevention(uow.session, participant_id,
                                                                      body.model_dump(mode="json"))
    except NoAftercarePlan:
        raise HTTPException(404, f"no aftercare for participant: {participant_id}") from None
    return _plan(plan)


@router.post("/participants/{participant_id}/aftercare/confirmation", responses=errors(404, 409))
async def confirm_aftercare_plan(participant_id: Id, body: Confirmation, request: Request) -> dict:
    if not body.confirmed_by_participant:
        raise HTTPException(422, "confirmed_by_participant must be true to confirm the plan")
    try:
        async with _uow(request) as uow:
            plan = await _aftercare(request).confirm_plan(uow.session, uow.outbox, participant_id,
                                                          body.reviewed_with)
    except NoAftercarePlan:
        raise HTTPException(404, f"no aftercare for participant: {participant_id}") from None
    except FollowUpConflict as exc:
        raise HTTPException(409, str(exc)) from None
    return _plan(plan)


@router.put("/participants/{participant_id}/reminder-contact", status_code=204)
async def put_reminder_contact(participant_id: Id, body: Contact, request: Request) -> None:
    async with _uow(request) as uow:
        await _aftercare(request).set_contact(uow.session, participant_id, str(body.email))


@router.get("/outreach-tasks")
async def list_outreach_tasks(request: Request, status: str = Query("open", pattern=r"^[a-z_]{1,16}$")) -> list[dict]:
    async with request.app.state.runtime.db.sessions() as s:
        tasks = (await s.scalars(select(OutreachTask).where(OutreachTask.status == status)
                                 .order_by(OutreachTask.escalation_level.desc(), OutreachTask.respond_by))).all()
    return [_task(t) for t in tasks]


@router.get("/measures/follow-up")
async def follow_up_measures(request: Request, as_of: AwareDatetime | None = None,
                             program_id: Id | None = None) -> dict:
    """Share of discharges with a completed follow-up within 7 and within 30 days after the
    discharge day (which does not count). A discharge whose window is still open and not met
    yet is left out (``window_still_open``)."""
    async with request.app.state.runtime.db.sessions() as s:
        return await _aftercare(request).follow_up_measures(s, as_of, program_id)
