"""Intake's safety-flag routes: the flags raised during assessments, listed (overdue first),
acknowledged and resolved by the clinician named by the token (never a body field). Each
needs a bearer token whose role grants it; a flag outside the token's scope answers 404."""

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.clinical_safety import recording
from services.clinical_safety.flags import FlagConflict, FlagStatus
from services.contracts.base import Id
from services.contracts.codes import SafetyAction
from services.security.dependencies import Access, authorized
from services.security.roles import Permission
from services.web.error_responses import errors

from . import safety_flags
from .tables import SafetyFlag

router = APIRouter(tags=["safety flags"])


class Resolution(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"action_taken": "safety_plan"}]})

    action_taken: SafetyAction = Field(description="What was done, as a code; who did it is the token's subject")


def _actor(access: Access) -> str:
    try:
        return recording.actor(access.principal.subject)
    except ValueError as exc:
        raise HTTPException(403, str(exc)) from None


async def _in_scope(s: AsyncSession, access: Access, flag_id: str, lock: bool = False) -> SafetyFlag:
    q = select(SafetyFlag).where(SafetyFlag.id == flag_id)
    flag = await s.scalar(q.with_for_update() if lock else q)
    access.resource = f"safety_flag:{flag_id}"
    if flag is None or not access.admits(flag.participant_id, flag.tenant_id, flag.program_id):
        raise HTTPException(404, f"unknown safety flag: {flag_id}")
    return flag


@router.get("/safety-flags")
async def list_safety_flags(request: Request,
                            status: str = Query("unresolved", pattern=r"^(unresolved|open|acknowledged|resolved)$"),
                            access: Access = authorized(Permission.SAFETY_FLAG_READ, "safety_flags.list")
                            ) -> list[dict]:
    """The flags raised during assessments in the caller's tenant and programs; overdue first."""
    wanted = [FlagStatus.OPEN, FlagStatus.ACKNOWLEDGED] if status == "unresolved" else [FlagStatus(status)]
    async with request.app.state.runtime.db.sessions() as s:
        rows = (await s.scalars(select(SafetyFlag).where(
            SafetyFlag.status.in_(wanted), SafetyFlag.tenant_id == access.tenant,
            SafetyFlag.program_id.in_(access.principal.programs)).order_by(SafetyFlag.respond_by))).all()
    at = safety_flags.now()
    for f in rows:
        access.saw(f.participant_id, f.program_id)
    return sorted((safety_flags.describe(f, at) for f in rows), key=lambda f: not f["overdue"])


@router.get("/safety-flags/{flag_id}", responses=errors(404))
async def get_safety_flag(flag_id: Id, request: Request,
                          access: Access = authorized(Permission.SAFETY_FLAG_READ, "safety_flag.read")) -> dict:
    async with request.app.state.runtime.db.sessions() as s:
        flag = await _in_scope(s, access, flag_id)
    return safety_flags.describe(flag, safety_flags.now())


@router.post("/safety-flags/{flag_id}/acknowledgement", responses=errors(404))
async def acknowledge_safety_flag(flag_id: Id, request: Request,
                                  access: Access = authorized(Permission.SAFETY_FLAG_RESPOND,
                                                              "safety_flag.acknowledge")) -> dict:
    """The clinician named by the token takes the flag: its escalation stops. Idempotent."""
    at = safety_flags.now()
    async with request.app.state.runtime.unit_of_work() as uow:
        flag = await _in_scope(uow.session, access, flag_id, lock=True)
        recording.acknowledge(uow.outbox, flag, _actor(access), at, safety_flags.EVENTS)
    return safety_flags.describe(flag, at)


@router.post("/safety-flags/{flag_id}/resolution", responses=errors(404, 409))
async def resolve_safety_flag(flag_id: Id, body: Resolution, request: Request,
                              access: Access = authorized(Permission.SAFETY_FLAG_RESPOND, "safety_flag.resolve")
                              ) -> dict:
    """What was done, as a code, by the clinician named by the token (acknowledging it too if
    nobody had). Again with the same action: unchanged; with another: 409 naming action_taken."""
    at = safety_flags.now()
    try:
        async with request.app.state.runtime.unit_of_work() as uow:
            flag = await _in_scope(uow.session, access, flag_id, lock=True)
            recording.resolve(uow.outbox, flag, body.action_taken, _actor(access), at, safety_flags.EVENTS)
    except FlagConflict as exc:
        raise HTTPException(409, f"{exc.field}: {exc}") from None
    return safety_flags.describe(flag, at)
