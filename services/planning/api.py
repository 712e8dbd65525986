"""Planning's HTTP routes: read a plan with its history, progress and reviews (and the goals
in the participant's words, opened from their sealed copy); revise, sign, mark goals met,
request a review, resolve a safety flag. Each needs a bearer token whose role grants it and
sees only plans of participants in the token's tenant and programs (404 otherwise); each access
is audited. The signer ({staff_id}, or the participant's id with a role) is still taken from
the request body."""

import asyncio

from fastapi import APIRouter, HTTPException, Request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.security.dependencies import Access, authorized
from services.security.roles import Permission

from services.contracts.sealed import SealedValue
from services.privacy.ports import KeyManagement
from services.eventing.logging import get_logger
from services.privacy.sealing import Availability, goal_field, open_for_display

from services.contracts.base import Id
from services.web.error_responses import errors

from .commands import MarkGoalMet, RequestReview, ResolveSafetyFlag, RevisePlan, SignPlan
from .handlers import (
    PlanConflict,
    PlanRejected,
    ReviewHeld,
    UnknownGoal,
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
    ParkedInput,
    PlanSignatureRecord,
    PlanVersion,
    ProgressReviewRecord,
    SafetyFlag,
)

router = APIRouter(tags=["planning"])
log = get_logger(__name__)
COMMAND_ERRORS = errors(404, 409)  # and 422 with the reasons (declared for every route with input)


async def _plan_in_scope(s: AsyncSession, access: Access, plan_id: str) -> None:
    """A plan the caller may see, or UnknownPlan (the same 404 as a plan that does not exist)."""
    v = await s.scalar(select(PlanVersion).where(PlanVersion.plan_id == plan_id).limit(1))
    if v is None or not access.admits(v.participant_id, v.tenant_id, v.program_id):
        raise UnknownPlan(plan_id)
    access.resource = f"plan:{plan_id}"


async def _participant_in_scope(s: AsyncSession, access: Access, participant_id: str,
                                not_found: Exception | None = None) -> None:
    """The participant's plans decide their tenant and program (planning knows no one else)."""
    v = await s.scalar(select(PlanVersion).where(PlanVersion.participant_id == participant_id)
                       .order_by(PlanVersion.created_at.desc(), PlanVersion.version.desc()).limit(1))
    if v is None or not access.admits(participant_id, v.tenant_id, v.program_id):
        raise not_found or HTTPException(404, f"no plan for participant: {participant_id}")
    access.resource = f"participant:{participant_id}"


async def _command(request: Request, guard, fn, *args):
    """Run one command in a unit of work (``guard``: the caller's scope, checked first) and map
    its refusals to HTTP statuses."""
    try:
        async with request.app.state.runtime.unit_of_work() as uow:
            await guard(uow.session)
            return await fn(uow.session, uow.outbox, *args)
    except (UnknownPlan, UnknownGoal, UnknownSafetyFlag) as exc:
        raise HTTPException(404, str(exc).strip("'\"")) from None
    except PlanConflict as exc:
        raise HTTPException(409, str(exc)) from None
    except PlanRejected as exc:
        raise HTTPException(422, {"reasons": exc.reasons}) from None
    except IntegrityError:  # a concurrent edit wrote the same next version first
        raise HTTPException(409, "the plan was changed concurrently: reload and edit the current version") from None


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
        "signatures": [{"role": x.role, "signer_id": x.signer_id, "signed_at": x.signed_at.isoformat()}
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
async def post_revision(plan_id: Id, body: RevisePlan, request: Request,
                        access: Access = authorized(Permission.PLAN_WRITE, "plan.revise")) -> dict:
    """A new version of the plan (PlanRevised). 409 when `base_version` is superseded;
    422 with the reasons when the plan would leave the level's bounds or stop being holistic."""
    revised = await _command(request, lambda s: _plan_in_scope(s, access, plan_id), revise_plan, plan_id, body)
    return {"plan_id": plan_id, "version": revised.plan_version, "reason_code": revised.reason_code,
            "weekly_hours_target": revised.weekly_hours_target}


@router.post("/plans/{plan_id}/versions/{version}/signatures", status_code=201, responses=COMMAND_ERRORS)
async def post_signature(plan_id: Id, version: int, body: SignPlan, request: Request,
                         access: Access = authorized(Permission.PLAN_WRITE, "plan.sign")) -> dict:
    """The clinician's or the participant's signature on the current version (PlanSigned)."""
    status = await _command(request, lambda s: _plan_in_scope(s, access, plan_id), sign_plan, plan_id, version, body)
    return {"plan_id": plan_id, "version": version, **status}


@router.post("/plans/{plan_id}/goals/{goal_id}/met", responses=COMMAND_ERRORS)
async def post_goal_met(plan_id: Id, goal_id: Id, body: MarkGoalMet, request: Request,
                        access: Access = authorized(Permission.PLAN_WRITE, "plan.goal_met")) -> dict:
    """Marks a goal met and reviews progress (ProgressReviewed)."""
    return {"goal_id": goal_id, "met": True,
            "review": _review(await _command(request, lambda s: _plan_in_scope(s, access, plan_id),
                                             mark_goal_met, plan_id, goal_id, body))}


@router.post("/plans/{plan_id}/reviews", status_code=201, responses=COMMAND_ERRORS)
async def post_review(plan_id: Id, body: RequestReview, request: Request,
                      access: Access = authorized(Permission.PLAN_WRITE, "plan.review")) -> dict:
    """A clinician's request for a progress review now (ProgressReviewed, and StepUpRecommended or
    ReadyForStepDown when that is the decision)."""
    return _review(await _command(request, lambda s: _plan_in_scope(s, access, plan_id), request_review,
                                  plan_id, body))


@router.post("/participants/{participant_id}/safety-flags/{flag_id}/resolution", responses=COMMAND_ERRORS)
async def post_flag_resolution(participant_id: Id, flag_id: Id, body: ResolveSafetyFlag, request: Request,
                               access: Access = authorized(Permission.PLAN_WRITE, "safety_flag.resolve")) -> dict:
    """A clinician closes a safety flag raised by intake; the plan is reviewed again."""
    unknown = UnknownSafetyFlag(f"participant {participant_id} has no safety flag {flag_id}")
    held = await _command(request, lambda s: _participant_in_scope(s, access, participant_id, unknown),
                          resolve_safety_flag, participant_id, flag_id, body)
    return {"flag_id": flag_id, "open": False, "review": _review(held)}
