"""Planning's HTTP routes: read a plan with its history, progress and reviews (and the goals
in the participant's words, opened from their sealed copy); revise, sign, mark goals met,
request a review, resolve a safety flag. Each command goes through the command layer
(services/web/commands.py: authorized, scoped, one unit of work, refusals answered as
documented, ``Idempotency-Key`` honoured). Each route needs a bearer token whose role grants it
and sees only plans of participants in the token's tenant and programs (404 otherwise); each
access is audited. Who acts is the token's subject (``access.actor``), never a body field. A
participant reads and signs their own plan only, in their own session (``/me/...``: the token's
``participant_id``)."""

import asyncio
from typing import overload

from fastapi import APIRouter, HTTPException, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.contracts.base import Id
from services.contracts.codes import SignerRole
from services.contracts.sealed import SealedValue
from services.eventing.logging import get_logger
from services.eventing.unit_of_work import UnitOfWork
from services.privacy.ports import KeyManagement
from services.privacy.sealing import Availability, goal_field, open_for_display
from services.security.dependencies import Access, authorized
from services.security.roles import Permission
from services.web.commands import Command, Commands
from services.web.error_responses import errors

from .commands import MarkGoalMet, RequestReview, ResolveSafetyFlag, RevisePlan, SignOwnPlan, SignPlan
from .handlers import (
    ReviewHeld,
    UnknownPlan,
    UnknownSafetyFlag,
    mark_goal_met,
    request_review,
    resolve_safety_flag,
    revise_plan,
    sign_plan,
    signature_status,
)
from .tables import (
    CarePlanState,
    GoalWords,
    IdempotentRequest,
    ParkedInput,
    PlanSignatureRecord,
    PlanVersion,
    ProgressReviewRecord,
    SafetyFlag,
)

router = APIRouter(tags=["planning"])
log = get_logger(__name__)
commands = Commands(IdempotentRequest)
COMMAND_ERRORS = errors(404, 409)  # and 422 with the reasons (declared for every route with input)


async def _plan_in_scope(s: AsyncSession, access: Access, plan_id: str) -> None:
    """A plan the caller may see, or UnknownPlan (the same 404 as a plan that does not exist)."""
    v = await s.scalar(select(PlanVersion).where(PlanVersion.plan_id == plan_id).limit(1))
    if v is None or not access.admits(v.participant_id, v.tenant_id, v.program_id):
        raise UnknownPlan(plan_id)
    access.resource = f"plan:{plan_id}"


async def _own_plan(s: AsyncSession, access: Access, plan_id: str) -> None:
    """A participant's own plan: the token's participant_id is the plan's participant, in the
    token's tenant; any other plan is the same 404 as one that does not exist."""
    v = await s.scalar(select(PlanVersion).where(PlanVersion.plan_id == plan_id).limit(1))
    own = access.principal.participant_id
    if v is None or own is None or v.participant_id != own or v.tenant_id != access.tenant:
        raise UnknownPlan(plan_id)
    access.saw(v.participant_id, v.program_id)
    access.resource = f"plan:{plan_id}"


async def _participant_in_scope(s: AsyncSession, access: Access, participant_id: str,
                                not_found: Exception | None = None) -> None:
    """The participant's plans decide their tenant and program (planning knows no one else)."""
    v = await s.scalar(select(PlanVersion).where(PlanVersion.participant_id == participant_id)
                       .order_by(PlanVersion.created_at.desc(), PlanVersion.version.desc()).limit(1))
    if v is None or not access.admits(participant_id, v.tenant_id, v.program_id):
        raise not_found or HTTPException(404, f"no plan for participant: {participant_id}")
    access.resource = f"participant:{participant_id}"


@overload
def _review(held: ReviewHeld) -> dict: ...
@overload
def _review(held: ReviewHeld | None) -> dict | None: ...
def _review(held: ReviewHeld | None) -> dict | None:
    if held is None:
        return None
    o = held.outcome
    return {"review_id": held.review_id, "decision": o.decision, "criteria_met": list(o.criteria_met),
            "reason_codes": list(o.reason_codes), "recommended_level_of_care": o.recommended_level}


def _with_words(keys: KeyManagement, participant_id: Id, goals: list[dict], sealed: dict[str, dict]) -> list[dict]:
    """Each goal with the participant's words (``words``) and whether they could be read
    (``words_status``: available, shredded, unavailable, not_sent)."""
    out = []
    for goal in goals:
        held = sealed.get(goal["goal_id"])
        opened = open_for_display(keys, participant_id, goal_field(goal["goal_id"]),
                                  SealedValue.model_validate(held) if held else None)
        if opened.availability is Availability.UNAVAILABLE:  # not shredded, yet not readable: worth a look
            log.warning("goal_words.unreadable", participant_id=participant_id, goal_id=goal["goal_id"])
        out.append({**goal, "words": opened.text, "words_status": opened.availability.value})
    return out


@router.get("/participants/{participant_id}/plan", responses=errors(404))
async def get_plan(participant_id: Id, request: Request,
                   access: Access = authorized(Permission.PLAN_READ, "plan.read")) -> dict:
    """The plan in force with its history, progress, reviews, safety flags and parked inputs.
    Each goal shows the participant's own words while their data key exists; after the key
    is shredded the goal is still there, its words ``null`` with ``words_status: shredded``."""
    async with request.app.state.runtime.db.sessions() as s:
        await _participant_in_scope(s, access, participant_id)
    return await _plan_of(request, participant_id)


@router.get("/me/plan", responses=errors(404))
async def get_own_plan(request: Request, access: Access = authorized(Permission.PLAN_READ_OWN, "plan.read_own")
                       ) -> dict:
    """The participant's own plan, in their own session (the token's participant_id): as the care
    team sees it."""
    own = access.principal.participant_id
    if own is None:
        raise HTTPException(404, "the token names no participant")
    async with request.app.state.runtime.db.sessions() as s:
        v = await s.scalar(select(PlanVersion).where(PlanVersion.participant_id == own).limit(1))
    if v is None or v.tenant_id != access.tenant:
        raise HTTPException(404, "no plan for the token's participant")
    access.saw(own, v.program_id)
    access.resource = f"participant:{own}"
    return await _plan_of(request, own)


async def _plan_of(request: Request, participant_id: str) -> dict:
    async with request.app.state.runtime.db.sessions() as s:
        versions = (await s.scalars(select(PlanVersion).where(PlanVersion.participant_id == participant_id)
                                    .order_by(PlanVersion.created_at, PlanVersion.version))).all()
        if not versions:
            raise HTTPException(404, f"no plan for participant: {participant_id}")
        current = versions[-1]
        state = await s.get(CarePlanState, current.plan_id)
        signatures = (await s.scalars(select(PlanSignatureRecord).where(
            PlanSignatureRecord.plan_id == current.plan_id, PlanSignatureRecord.version == current.version))).all()
        signed = await signature_status(s, current.plan_id, current.version)
        reviews = (await s.scalars(select(ProgressReviewRecord).where(
            ProgressReviewRecord.plan_id == current.plan_id).order_by(ProgressReviewRecord.reviewed_at))).all()
        flags = (await s.scalars(select(SafetyFlag).where(SafetyFlag.participant_id == participant_id))).all()
        parked = (await s.scalars(select(ParkedInput).where(ParkedInput.participant_id == participant_id)
                                  .order_by(ParkedInput.id))).all()
        sealed = {w.goal_id: w.sealed for w in (await s.scalars(select(GoalWords).where(
            GoalWords.participant_id == participant_id))).all()}
    goals = await asyncio.to_thread(_with_words, request.app.state.runtime.extras["keys"], participant_id,
                                    current.body.get("goals", []), sealed)
    return {
        "plan": current.body | signed | {"goals": goals},
        "status": state.status if state else None,
        "signatures": [{"role": x.role, "signer_id": x.signer_id, "signed_at": x.signed_at.isoformat(),
                        "kind": x.kind, "recorded_by": {"id": x.actor_id, "role": x.actor_role} if x.actor_id else None}
                       for x in signatures],
        "history": [{"plan_id": v.plan_id, "version": v.version, "reason_code": v.reason_code,
                     "created_at": v.created_at.isoformat()} for v in versions],
        "progress": None if state is None else {
            "sessions_attended": state.sessions_attended, "sessions_missed": state.sessions_missed,
            "hours_attended": round(state.minutes_attended / 60, 2),
            "phq9_baseline": state.phq9_baseline, "phq9_latest": state.phq9_latest,
            "goals_met": list(state.goals_met), "last_decision": state.last_decision,
            "ready_for_step_down": state.status == "stepped_down"},
        "reviews": [{"review_id": r.review_id, "trigger": r.trigger, "decision": r.decision,
                     "criteria_met": r.criteria_met, "reason_codes": r.reason_codes,
                     "reviewed_at": r.reviewed_at.isoformat()} for r in reviews],
        "safety_flags": [{"flag_id": f.flag_id, "severity": f.severity, "open": f.resolved_at is None}
                         for f in flags],
        "parked_inputs": [{"event_type": p.event_type, "event_id": p.event_id, "reason": p.reason,
                           "parked_at": p.parked_at.isoformat()} for p in parked],
    }


@router.post("/plans/{plan_id}/revisions", status_code=201, responses=COMMAND_ERRORS)
async def post_revision(plan_id: Id, body: RevisePlan,
                        cmd: Command = commands.authorized(Permission.PLAN_WRITE, "plan.revise")):
    """A new version of the plan (PlanRevised), revised by the caller. 409 when `base_version` is
    superseded; 422 with the reasons when the plan would leave the level's bounds or stop being holistic."""
    async def act(uow: UnitOfWork) -> dict:
        revised = await revise_plan(uow.session, uow.outbox, plan_id, body, cmd.access.actor)
        return {"plan_id": plan_id, "version": revised.plan_version, "reason_code": revised.reason_code,
                "weekly_hours_target": revised.weekly_hours_target, "revised_by": cmd.access.actor.model_dump()}
    return await cmd.run(act, body=body, scope=lambda s: _plan_in_scope(s, cmd.access, plan_id))


@router.post("/plans/{plan_id}/versions/{version}/signatures", status_code=201, responses=errors(403, 404, 409))
async def post_signature(plan_id: Id, version: int, body: SignPlan,
                         cmd: Command = commands.authorized(Permission.PLAN_WRITE, "plan.sign")):
    """The caller's signature as the clinician on the current version (``role: clinician``), or the
    participant's signature on paper that the caller witnessed (``role: participant, kind:
    witnessed_paper_signature``: it counts as the participant's signature, recorded and published
    as witnessed, with the caller as ``attested_by``). PlanSigned. A clinician's token never
    gives the participant's own signature (403): the participant signs in their own session."""
    async def act(uow: UnitOfWork) -> dict:
        status = await sign_plan(uow.session, uow.outbox, plan_id, version, body, cmd.access.actor)
        return {"plan_id": plan_id, "version": version, **status}
    return await cmd.run(act, body=body, scope=lambda s: _plan_in_scope(s, cmd.access, plan_id))


@router.post("/me/plans/{plan_id}/versions/{version}/signature", status_code=201, responses=COMMAND_ERRORS)
async def post_own_signature(plan_id: Id, version: int, body: SignOwnPlan | None = None,
                             cmd: Command = commands.authorized(Permission.PLAN_SIGN_OWN, "plan.sign_own")):
    """The participant signs their own plan, in their own session: the token's participant_id
    must be the plan's participant (404 for any other plan). PlanSigned."""
    own = cmd.access.principal.participant_id

    async def act(uow: UnitOfWork) -> dict:
        status = await sign_plan(uow.session, uow.outbox, plan_id, version, SignPlan(role=SignerRole.PARTICIPANT),
                                 cmd.access.actor, own_participant=own)
        return {"plan_id": plan_id, "version": version, **status}
    return await cmd.run(act, body=body, scope=lambda s: _own_plan(s, cmd.access, plan_id))


@router.post("/plans/{plan_id}/goals/{goal_id}/met", responses=COMMAND_ERRORS)
async def post_goal_met(plan_id: Id, goal_id: Id, body: MarkGoalMet | None = None,
                        cmd: Command = commands.authorized(Permission.PLAN_WRITE, "plan.goal_met")):
    """Marks a goal met, as recorded by the caller, and reviews progress (ProgressReviewed)."""
    async def act(uow: UnitOfWork) -> dict:
        held = await mark_goal_met(uow.session, uow.outbox, plan_id, goal_id, cmd.access.actor)
        return {"goal_id": goal_id, "met": True, "review": _review(held)}
    return await cmd.run(act, body=body, scope=lambda s: _plan_in_scope(s, cmd.access, plan_id))


@router.post("/plans/{plan_id}/reviews", status_code=201, responses=COMMAND_ERRORS)
async def post_review(plan_id: Id, body: RequestReview | None = None,
                      cmd: Command = commands.authorized(Permission.PLAN_WRITE, "plan.review")):
    """The caller's request for a progress review now (ProgressReviewed, and StepUpRecommended or
    ReadyForStepDown when that is the decision)."""
    async def act(uow: UnitOfWork) -> dict:
        return _review(await request_review(uow.session, uow.outbox, plan_id, cmd.access.actor))
    return await cmd.run(act, body=body, scope=lambda s: _plan_in_scope(s, cmd.access, plan_id))


@router.post("/participants/{participant_id}/safety-flags/{flag_id}/resolution", responses=COMMAND_ERRORS)
async def post_flag_resolution(participant_id: Id, flag_id: Id, body: ResolveSafetyFlag | None = None,
                               cmd: Command = commands.authorized(Permission.PLAN_WRITE, "safety_flag.resolve")):
    """The caller closes a safety flag raised by intake; the plan is reviewed again."""
    unknown = UnknownSafetyFlag(f"participant {participant_id} has no safety flag {flag_id}")

    async def act(uow: UnitOfWork) -> dict:
        held = await resolve_safety_flag(uow.session, uow.outbox, participant_id, flag_id, cmd.access.actor)
        return {"flag_id": flag_id, "open": False, "review": _review(held)}
    return await cmd.run(act, body=body, scope=lambda s: _participant_in_scope(s, cmd.access, participant_id, unknown))
