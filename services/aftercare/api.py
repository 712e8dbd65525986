"""Aftercare's HTTP routes: the flow runs' open and grace-check calls, check-ins, the
aftercare plan and its relapse-prevention plan (reviewed and confirmed with the
participant), the reminder contact, outreach tasks and the follow-up measures.

Each route needs a bearer token whose role grants it; a participant or follow-up outside the
token's tenant and programs answers 404 like one that does not exist, and lists and measures
cover only the caller's scope. Each access to participant data is audited.

Who acts is the token (``access.actor``), never a body field: who records check-in answers,
who confirms a plan. A participant confirms their own plan in their own session (role
``participant``, scoped to themselves); a staff member's confirmation is recorded as witnessed
(``attested_by``), never as the participant's own. The flow runs (role ``workflow``, one
identity for the deployment, no tenant) name the tenant they act for; a follow-up not of that
tenant answers 404 as one that does not exist, changes nothing, and is logged."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    model_validator,
)
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.clinical_safety.screeners import CssrsAnswers, ItemError, check_cssrs
from services.contracts.base import Id
from services.contracts.events_aftercare import ConfirmationKind
from services.eventing.logging import get_logger
from services.eventing.unit_of_work import UnitOfWork
from services.security.dependencies import Access, authorized
from services.security.roles import Permission, Role
from services.web.commands import Command, Commands
from services.web.error_responses import errors
from services.web.safety_flag_routes import safety_flag_routes

from . import safety_flags
from .domain.follow_up_rules import CheckIn
from .handlers import Aftercare, NoAftercarePlan, UnknownFollowUp
from .tables import (
    AdditionalAnswer,
    AftercarePlan,
    FollowUp,
    IdempotentRequest,
    OutreachTask,
    ReminderContact,
    SafetyFlag,
)

router = APIRouter(tags=["aftercare"])
log = get_logger(__name__)
commands = Commands(IdempotentRequest)
"""Every command: authorized and audited, scoped, one unit of work, ``Idempotency-Key`` honoured,
refusals (UnknownFollowUp and NoAftercarePlan 404, FollowUpConflict 409) answered as documented."""

# confirming an aftercare plan: the care team (witnessed) and the participant (their own)
CONFIRM_PLAN = Permission.AFTERCARE_PLAN_CONFIRM

Line = Annotated[str, StringConstraints(min_length=1, max_length=1000)]
Lines = Annotated[list[Line], Field(min_length=1, max_length=30)]


class CssrsScreener(BaseModel):
    """The C-SSRS screener (recent), when the check-in asks it; Q3-Q5 only after a yes to Q2,
    the 3-month question only after a yes to Q6 (the screener's skip logic)."""

    model_config = ConfigDict(extra="forbid")

    q1: StrictBool
    q2: StrictBool
    q3: StrictBool | None = None
    q4: StrictBool | None = None
    q5: StrictBool | None = None
    q6: StrictBool
    q6_past_3_months: StrictBool | None = None

    def answers(self) -> CssrsAnswers:
        return CssrsAnswers(self.q1, self.q2, self.q3, self.q4, self.q5, self.q6, self.q6_past_3_months)

    @model_validator(mode="after")
    def _skip_logic(self):
        try:
            check_cssrs(self.answers())
        except ItemError as exc:
            raise ValueError(str(exc)) from None
        return self


class RecordCheckIn(BaseModel):
    """An answer is never refused because of the follow-up's state (docs/safety.md)."""

    model_config = ConfigDict(extra="forbid")

    phq9_total: StrictInt = Field(ge=0, le=27)
    phq9_item9: StrictInt = Field(ge=0, le=3)
    substance_use_since_last_contact: StrictBool
    engaged_with_step_down_provider: StrictBool
    housing_stable: StrictBool
    work_or_school_stable: StrictBool
    cssrs: CssrsScreener | None = None
    how_they_say_they_are: str = Field(default="", max_length=4000, description="stays in aftercare")


class FlowCall(BaseModel):
    """What a flow run sends: the tenant the run acts for, and the time by its clock (time is a
    parameter; defaults to now)."""

    model_config = ConfigDict(extra="forbid")
    tenant_id: Id = Field(description="The tenant the run claims: the follow-up must be this tenant's, "
                          "else 404 and nothing changes")
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
    """Nothing to send (an empty object, or no body): who confirms is the token. The
    participant's own session records their confirmation; a staff member's records that they
    witnessed it. Actor fields (``confirmed_by_participant``, ``reviewed_with``, ...) are refused."""

    model_config = ConfigDict(extra="forbid")


class Contact(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr


def _aftercare(request: Request) -> Aftercare:
    return request.app.state.runtime.extras["aftercare"]


async def _follow_up_of_claimed_tenant(s: AsyncSession, access: Access, follow_up_id: str, tenant_id: str) -> None:
    """A flow run's call: the follow-up must exist and belong to the tenant the run claims (and
    to the token's tenant and programs, if the token names any; the deployment's workflow
    identity names none). Otherwise UnknownFollowUp (404, the same answer either way), logged
    with ids only."""
    fu = await s.get(FollowUp, follow_up_id)
    access.resource = f"follow_up:{follow_up_id}"
    if fu is not None:
        access.participants[fu.participant_id] = fu.program_id
        access.owner_tenant = fu.tenant_id  # the flow server has no tenant: its rows are the owner's
    programs = access.principal.programs
    reason = ("unknown_follow_up" if fu is None else "other_tenant" if fu.tenant_id != tenant_id
              else "token_of_another_tenant" if access.tenant and access.tenant != tenant_id
              else "token_of_other_programs" if programs and fu.program_id not in programs else None)
    if reason is not None:
        access.out_of_scope = fu is not None
        log.warning("follow_up.run_refused", follow_up_id=follow_up_id, claimed_tenant_id=tenant_id,
                    token_tenant_id=access.tenant or None, subject=access.principal.subject, reason=reason)
        raise UnknownFollowUp(follow_up_id)


async def _follow_up_in_scope(s: AsyncSession, access: Access, follow_up_id: str) -> None:
    fu = await s.get(FollowUp, follow_up_id)
    if fu is None or not access.admits(fu.participant_id, fu.tenant_id, fu.program_id):
        raise UnknownFollowUp(follow_up_id)
    access.resource = f"follow_up:{follow_up_id}"


async def _latest_plan(s: AsyncSession, participant_id: str) -> AftercarePlan | None:
    return await s.scalar(select(AftercarePlan).where(AftercarePlan.participant_id == participant_id)
                          .order_by(AftercarePlan.created_at.desc()).limit(1))


async def _aftercare_in_scope(s: AsyncSession, access: Access, participant_id: str) -> None:
    plan = await _latest_plan(s, participant_id)
    access.resource = f"participant:{participant_id}"
    if plan is None or not _admits(access, participant_id, plan.tenant_id, plan.program_id):
        raise NoAftercarePlan(participant_id)


def _own_session(access: Access) -> bool:
    return access.role == Role.PARTICIPANT


def _admits(access: Access, participant_id: str, tenant_id: str, program_id: str) -> bool:
    """A participant's own session sees only themselves (in their tenant); anyone else as the
    token's tenant and programs say."""
    if not _own_session(access):
        return access.admits(participant_id, tenant_id, program_id)
    access.participants[participant_id] = program_id
    if access.principal.participant_id != participant_id or access.principal.tenant != tenant_id:
        access.out_of_scope = True
        return False
    return True


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t else None


def _follow_up(fu: FollowUp) -> dict:
    return {"follow_up_id": fu.id, "day_offset": fu.day_offset, "due_at": fu.due_at.isoformat(),
            "grace_until": _iso(fu.grace_until), "flow_run_id": fu.flow_run_id,
            "grace_check_flow_run_id": fu.grace_flow_run_id, "flow_runs": fu.runs, "status": fu.status,
            "result": fu.result, "reminder": fu.reminder, "reminder_channel": fu.reminder_channel,
            "opened_at": _iso(fu.opened_at),
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
            "confirmation_kind": p.confirmation_kind, "attested_by": p.attested_by,
            "confirmed_by": {"id": p.confirmed_by, "role": p.confirmed_by_role} if p.confirmed_by else None}


@router.post("/follow-ups/{follow_up_id}/open", responses=errors(404))
async def open_follow_up(follow_up_id: Id, body: FlowCall,
                         cmd: Command = commands.authorized(Permission.FOLLOW_UP_RUN, "follow_up.open")
                         ) -> JSONResponse:
    """The due flow run opens the check-in (the reminder follows). 404 when the follow-up does
    not exist or is not of the tenant the run claims (``tenant_id``): nothing changes."""
    async def act(uow: UnitOfWork) -> dict:
        return _follow_up(await _aftercare(cmd.request).open_check_in(uow.session, follow_up_id, body.as_of))
    return await cmd.run(act, body=body, scope=lambda s: _follow_up_of_claimed_tenant(s, cmd.access, follow_up_id,
                                                                                      body.tenant_id))


@router.post("/follow-ups/{follow_up_id}/grace-check", responses=errors(404))
async def grace_check(follow_up_id: Id, body: FlowCall,
                      cmd: Command = commands.authorized(Permission.FOLLOW_UP_RUN, "follow_up.grace_check")
                      ) -> JSONResponse:
    """The run at the end of the grace window: a miss (and an outreach task) when nobody
    answered. 404 as for ``open``."""
    async def act(uow: UnitOfWork) -> dict:
        fu, outcome = await _aftercare(cmd.request).grace_check(uow.session, uow.outbox, follow_up_id,
                                                                body.as_of, cmd.access.actor)
        return {**_follow_up(fu), "grace_outcome": str(outcome)}
    return await cmd.run(act, body=body, scope=lambda s: _follow_up_of_claimed_tenant(s, cmd.access, follow_up_id,
                                                                                      body.tenant_id))


@router.post("/follow-ups/{follow_up_id}/check-in", responses=errors(404))
async def post_check_in(follow_up_id: Id, body: RecordCheckIn,
                        cmd: Command = commands.authorized(Permission.AFTERCARE_WRITE, "follow_up.check_in")
                        ) -> JSONResponse:
    """Stored whatever the follow-up's state; a safety finding raises a flag (``safety_flag``). To
    a follow-up already completed or cancelled it is an additional answer (``additional_answer``)."""
    check_in = CheckIn(**body.model_dump(exclude={"how_they_say_they_are", "cssrs"}),
                       cssrs=body.cssrs.answers() if body.cssrs else None)
    aftercare = _aftercare(cmd.request)

    async def act(uow: UnitOfWork) -> dict:
        done = await aftercare.record_check_in(uow.session, uow.outbox, follow_up_id, check_in,
                                               body.how_they_say_they_are, cmd.access.actor)
        flag = _flag(done.safety_flag, aftercare.clock()) if done.safety_flag else None
        return {**_follow_up(done.follow_up), "additional_answer": done.additional, "safety_flag": flag}
    return await cmd.run(act, body=body, scope=lambda s: _follow_up_in_scope(s, cmd.access, follow_up_id))


# -- safety flags raised at check-ins (aftercare owns them; docs/safety.md) ---------------------


def _flag(f: SafetyFlag, now: datetime) -> dict:
    return safety_flags.describe(f, now)


@router.get("/participants/{participant_id}/aftercare", responses=errors(404))
async def get_aftercare(participant_id: Id, request: Request,
                        access: Access = authorized(Permission.AFTERCARE_READ, "aftercare.read")) -> dict:
    async with request.app.state.runtime.db.sessions() as s:
        await _aftercare_in_scope(s, access, participant_id)
        plans = (await s.scalars(select(AftercarePlan).where(AftercarePlan.participant_id == participant_id)
                                 .order_by(AftercarePlan.created_at))).all()
        follow_ups = (await s.scalars(select(FollowUp).where(FollowUp.participant_id == participant_id)
                                      .order_by(FollowUp.due_at))).all()
        tasks = (await s.scalars(select(OutreachTask).where(OutreachTask.participant_id == participant_id)
                                 .order_by(OutreachTask.created_at))).all()
        extra = (await s.scalars(select(AdditionalAnswer).where(AdditionalAnswer.participant_id == participant_id)
                                 .order_by(AdditionalAnswer.received_at))).all()
        flags = (await s.scalars(select(SafetyFlag).where(SafetyFlag.participant_id == participant_id)
                                 .order_by(SafetyFlag.flagged_at))).all()
    if not plans:
        raise HTTPException(404, f"no aftercare for participant: {participant_id}")
    now = _aftercare(request).clock()
    return {**_plan(plans[-1]), "follow_ups": [_follow_up(f) for f in follow_ups],
            "outreach_tasks": [_task(t) for t in tasks],
            "additional_answers": [{"answer_id": a.id, "follow_up_id": a.follow_up_id,
                                    "follow_up_status": a.follow_up_status, "answers": a.answers,
                                    "how_they_say_they_are": a.how_they_say_they_are,
                                    "received_at": a.received_at.isoformat(), "safety_flag_id": a.safety_flag_id}
                                   for a in extra],
            "safety_flags": [_flag(f, now) for f in flags]}


@router.put("/participants/{participant_id}/aftercare/relapse-prevention-plan", responses=errors(404))
async def put_relapse_prevention_plan(
        participant_id: Id, body: RelapsePreventionPlan,
        cmd: Command = commands.authorized(Permission.AFTERCARE_WRITE, "relapse_prevention_plan.write")
        ) -> JSONResponse:
    async def act(uow: UnitOfWork) -> dict:
        return _plan(await _aftercare(cmd.request).write_relapse_prevention(uow.session, participant_id,
                                                                            body.model_dump(mode="json")))
    return await cmd.run(act, body=body, scope=lambda s: _aftercare_in_scope(s, cmd.access, participant_id))


@router.post("/participants/{participant_id}/aftercare/confirmation", responses=errors(404, 409))
async def confirm_aftercare_plan(participant_id: Id, body: Confirmation | None = None,
                                 cmd: Command = commands.authorized(CONFIRM_PLAN, "aftercare_plan.confirm")
                                 ) -> JSONResponse:
    """The participant confirms the plan in their own session (``confirmation_kind``
    participant), or a care-team member records that they witnessed the participant's
    confirmation (``witnessed``, ``attested_by`` = the token's subject). A participant's session
    reaches only their own plan (else 404). Idempotent: a confirmed plan stays as confirmed."""
    kind = ConfirmationKind.PARTICIPANT if _own_session(cmd.access) else ConfirmationKind.WITNESSED

    async def act(uow: UnitOfWork) -> dict:
        return _plan(await _aftercare(cmd.request).confirm_plan(uow.session, uow.outbox, participant_id,
                                                                cmd.access.actor, kind))
    return await cmd.run(act, body=body, scope=lambda s: _aftercare_in_scope(s, cmd.access, participant_id))


@router.put("/participants/{participant_id}/reminder-contact", status_code=204)
async def put_reminder_contact(participant_id: Id, body: Contact,
                               cmd: Command = commands.authorized(Permission.AFTERCARE_WRITE, "reminder_contact.write")
                               ) -> Response:
    """May come before aftercare knows the participant: the contact then belongs to the caller's
    tenant (and only program, if the token names one) and only that scope may change it."""
    access = cmd.access
    access.resource = f"participant:{participant_id}"
    owner: dict[str, str | None] = {}

    async def in_scope(s: AsyncSession) -> None:
        plan = await _latest_plan(s, participant_id)
        contact = await s.get(ReminderContact, participant_id)
        programs = access.principal.programs
        program: str | None
        if plan is not None:
            tenant, program = plan.tenant_id, plan.program_id
        elif contact is not None:
            tenant, program = contact.tenant_id, contact.program_id
        else:
            tenant, program = access.tenant, programs[0] if len(programs) == 1 else None
        if not access.admits(participant_id, tenant, program if program is not None else next(iter(programs), None)):
            raise NoAftercarePlan(participant_id)
        owner.update(tenant=tenant, program=program)

    async def act(uow: UnitOfWork) -> dict:
        tenant = owner["tenant"]
        assert tenant is not None  # in_scope found it
        await _aftercare(cmd.request).set_contact(uow.session, participant_id, str(body.email), tenant,
                                                  owner["program"])
        return {}
    await cmd.run(act, body=body, scope=in_scope)
    return Response(status_code=204)  # nothing to answer (a retry with the same key: the same)


@router.get("/outreach-tasks")
async def list_outreach_tasks(request: Request, status: str = Query("open", pattern=r"^[a-z_]{1,16}$"),
                              access: Access = authorized(Permission.AFTERCARE_READ, "outreach_tasks.list")
                              ) -> list[dict]:
    """The open (or ``status``) tasks for participants of the caller's tenant and programs."""
    async with request.app.state.runtime.db.sessions() as s:
        rows = (await s.execute(
            select(OutreachTask, FollowUp.program_id).join(FollowUp, FollowUp.id == OutreachTask.follow_up_id)
            .where(OutreachTask.status == status, FollowUp.tenant_id == access.tenant,
                   FollowUp.program_id.in_(access.principal.programs))
            .order_by(OutreachTask.escalation_level.desc(), OutreachTask.respond_by))).all()
    for t, program in rows:
        access.saw(t.participant_id, program)
    return [_task(t) for t, _ in rows]


@router.get("/measures/follow-up")
async def follow_up_measures(request: Request, as_of: AwareDatetime | None = None,
                             program_id: Id | None = None,
                             access: Access = authorized(Permission.MEASURES_READ)) -> dict:
    """Share of discharges with a completed follow-up within 7 and within 30 days after the
    discharge day (which does not count). A discharge whose window is still open and not met
    yet is left out (``window_still_open``). Over the caller's tenant and programs only."""
    async with request.app.state.runtime.db.sessions() as s:
        return await _aftercare(request).follow_up_measures(s, access.tenant, access.principal.programs,
                                                            as_of, program_id)


safety_router = safety_flag_routes(SafetyFlag, safety_flags.EVENTS, commands, describe=safety_flags.describe,
                                   clock=lambda request: _aftercare(request).clock(),
                                   which="The flags raised at check-ins")
