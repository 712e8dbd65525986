"""The safety-flag routes every owner of flags serves (intake for the flags raised during
assessments, aftercare for those raised at check-ins; docs/safety.md): list (overdue first),
read, acknowledge and resolve, by the clinician named by the token (never a body field). Each
needs a bearer token whose role grants it; a flag outside the token's scope answers 404 as one
that does not exist. One router, built per owner with its table, events and clock."""

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.clinical_safety import recording
from services.clinical_safety.flags import FlagConflict, FlagStatus
from services.contracts.base import Id
from services.contracts.codes import SafetyAction
from services.eventing.unit_of_work import UnitOfWork
from services.security.dependencies import Access, authorized
from services.security.roles import Permission

from .commands import Command, Commands
from .error_responses import errors
from .refusals import Conflict, NotFound

Flag = TypeVar("Flag", bound=recording.SafetyFlagColumns)  # the owner's flag table


class Resolution(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"action_taken": "safety_plan"}]})

    action_taken: SafetyAction = Field(description="What was done, as a code; who did it is the token's subject")


def safety_flag_routes(model: type[Flag], events: recording.FlagEvents, commands: Commands, *,
                       describe: Callable[[Flag, datetime], dict], clock: Callable[[Request], datetime],
                       which: str) -> APIRouter:
    """``model``: the owner's flag table; ``commands``: the owner's command layer (its stored
    answers of ``Idempotency-Key``); ``describe``: a flag as its API shows it; ``clock``: now, for
    the request's service; ``which``: the flags it owns, in words (for the documentation)."""
    router = APIRouter(tags=["safety flags"])

    async def in_scope(s: AsyncSession, access: Access, flag_id: str, lock: bool = False):
        q = select(model).where(model.id == flag_id)
        flag = await s.scalar(q.with_for_update() if lock else q)
        access.resource = f"safety_flag:{flag_id}"
        if flag is None or not access.admits(flag.participant_id, flag.tenant_id, flag.program_id):
            raise NotFound(f"unknown safety flag: {flag_id}")
        return flag

    @router.get("/safety-flags", description=f"{which} in the caller's tenant and programs; overdue first, "
                                             "then by deadline.")
    async def list_safety_flags(request: Request,
                                status: str = Query("unresolved",
                                                    pattern=r"^(unresolved|open|acknowledged|resolved)$"),
                                access: Access = authorized(Permission.SAFETY_FLAG_READ, "safety_flags.list")
                                ) -> list[dict]:
        wanted = [FlagStatus.OPEN, FlagStatus.ACKNOWLEDGED] if status == "unresolved" else [FlagStatus(status)]
        async with request.app.state.runtime.db.sessions() as s:
            rows = (await s.scalars(select(model).where(
                model.status.in_(wanted), model.tenant_id == access.tenant,
                model.program_id.in_(access.principal.programs)).order_by(model.respond_by))).all()
        now = clock(request)
        for f in rows:
            access.saw(f.participant_id, f.program_id)
        return sorted((describe(f, now) for f in rows), key=lambda f: not f["overdue"])

    @router.get("/safety-flags/{flag_id}", responses=errors(404))
    async def get_safety_flag(flag_id: Id, request: Request,
                              access: Access = authorized(Permission.SAFETY_FLAG_READ, "safety_flag.read")) -> dict:
        async with request.app.state.runtime.db.sessions() as s:
            flag = await in_scope(s, access, flag_id)
        return describe(flag, clock(request))

    @router.post("/safety-flags/{flag_id}/acknowledgement", responses=errors(404))
    async def acknowledge_safety_flag(flag_id: Id, request: Request,
                                      cmd: Command = commands.authorized(Permission.SAFETY_FLAG_RESPOND,
                                                                         "safety_flag.acknowledge")):
        """The clinician named by the token takes the flag: its escalation stops. Idempotent."""
        now = clock(request)

        async def act(uow: UnitOfWork) -> dict:
            flag = await in_scope(uow.session, cmd.access, flag_id, lock=True)
            recording.acknowledge(uow.outbox, flag, cmd.access.actor, now, events)
            return describe(flag, now)
        return await cmd.run(act)

    @router.post("/safety-flags/{flag_id}/resolution", responses=errors(404, 409))
    async def resolve_safety_flag(flag_id: Id, body: Resolution, request: Request,
                                  cmd: Command = commands.authorized(Permission.SAFETY_FLAG_RESPOND,
                                                                     "safety_flag.resolve")):
        """What was done, as a code, by the clinician named by the token (acknowledging it too if
        nobody had). Again with the same action: unchanged; with another: 409 naming action_taken."""
        now = clock(request)

        async def act(uow: UnitOfWork) -> dict:
            flag = await in_scope(uow.session, cmd.access, flag_id, lock=True)
            try:
                recording.resolve(uow.outbox, flag, body.action_taken, cmd.access.actor, now, events)
            except FlagConflict as exc:
                raise Conflict(f"{exc.field}: {exc}", field=exc.field) from None
            return describe(flag, now)
        return await cmd.run(act, body=body)

    return router
