"""The command layer every service's HTTP routes go through: one place that authenticates and
authorizes (``services.security.dependencies.authorized``), reads the ``Idempotency-Key``, checks
the caller's scope, runs the command in one unit of work (its state and its outbox commit
together), remembers the answer under the key, and lets domain refusals (``refusals.Refused``)
become their documented answers.

A service makes its layer once, with its table of stored answers (``idempotency``)::

    commands = Commands(IdempotentRequest)

and a route stays thin::

    @router.post("/plans/{plan_id}/revisions", status_code=201, responses=errors(404, 409))
    async def post_revision(plan_id: Id, body: RevisePlan,
                            cmd: Command = commands.authorized(Permission.PLAN_WRITE, "plan.revise")):
        async def act(uow: UnitOfWork) -> dict:
            revised = await revise_plan(uow.session, uow.outbox, plan_id, body, cmd.access.actor)
            return {"plan_id": plan_id, "version": revised.plan_version}
        return await cmd.run(act, body=body, scope=lambda s: plan_in_scope(s, cmd.access, plan_id))

``scope`` runs first in the unit of work (it calls ``access.admits`` and raises ``NotFound``
for what the caller may not see), before any stored answer is given back; then a stored answer
for the same key and request, or ``act``. Who acts is ``cmd.access.actor`` (the token's subject
and the role that allowed it), never a body field. The answer's status is the route's declared
``status_code`` (200 when none)."""

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from fastapi import Depends, Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.contracts.base import Actor
from services.eventing.unit_of_work import UnitOfWork
from services.security.dependencies import Access, authorized
from services.security.roles import Permission

from .idempotency import KEY_MAX_LENGTH, IdempotentRequestRow, fingerprint, remember, stored_answer
from .refusals import Conflict, NotPermitted

Act = Callable[[UnitOfWork], Awaitable[dict | list | BaseModel]]
Scope = Callable[[AsyncSession], Awaitable[object]]

IDEMPOTENCY_KEY_DESCRIPTION = "Send the same key when retrying: the request takes effect once"


def idempotency_key_header():
    return Header(default=None, alias="Idempotency-Key", max_length=KEY_MAX_LENGTH,
                  description=IDEMPOTENCY_KEY_DESCRIPTION)


class CommandRuntime(Protocol):
    """What a command needs of the process that runs it (the host's ServiceRuntime): a unit of work."""

    def unit_of_work(self) -> AbstractAsyncContextManager[UnitOfWork]: ...


def runtime(request: Request) -> CommandRuntime:
    return request.app.state.runtime


def _answer(value: dict | list | BaseModel) -> Any:
    return value.model_dump(mode="json") if isinstance(value, BaseModel) else jsonable_encoder(value)


async def run_command(request: Request, access: Access, act: Act, *, answers: type[IdempotentRequestRow],
                      key: str | None = None, body: BaseModel | None = None, scope: Scope | None = None,
                      status_code: int | None = None) -> JSONResponse:
    """Run one command in one transaction and answer it (see the module's docstring).

    A concurrent retry with the same key that committed first makes this one's insert fail: it is
    run once more, and answered from the stored answer. Any other write that collided (e.g. two
    edits writing the same next version) is a 409: nothing was changed."""
    route = request.scope.get("route")
    code = status_code or getattr(route, "status_code", None) or 200
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    fp = fingerprint(request.method, path, body.model_dump(mode="json") if body is not None else {},
                     access.principal.subject)
    for attempt in (1, 2):
        try:
            async with runtime(request).unit_of_work() as uow:
                if scope is not None:
                    await scope(uow.session)
                if key and (stored := await stored_answer(uow.session, answers, key, fp)):
                    return JSONResponse(stored[1], status_code=stored[0])
                answer = _answer(await act(uow))
                if key:
                    remember(uow.session, answers, key, fp, code, answer)
            return JSONResponse(answer, status_code=code)
        except IntegrityError:
            if key and attempt == 1:
                continue  # a concurrent retry with the same key won: the second pass answers from it
            raise Conflict("changed concurrently by another request: reload and try again") from None
    raise AssertionError("unreachable")


def acting(access: Access) -> Actor:
    """The caller as the actor the records and events name; a token whose subject cannot be one
    (over 64 characters, or other than letters, digits and ``_.:-``) is refused (403), never a 500
    half-way through a command. An identity provider's subjects (e.g. Keycloak's UUIDs) fit."""
    try:
        return access.actor
    except ValidationError:
        raise NotPermitted("the token's subject cannot name who acts: at most 64 characters of letters, "
                           "digits and _.:-") from None


@dataclass
class Command:
    """One authorized command request: ``access`` (who, scope, audit), the request and its
    ``Idempotency-Key``. ``run`` carries it out."""

    access: Access
    request: Request
    idempotency_key: str | None
    answers: type[IdempotentRequestRow]

    async def run(self, act: Act, *, body: BaseModel | None = None, scope: Scope | None = None,
                  status_code: int | None = None) -> JSONResponse:
        return await run_command(self.request, self.access, act, answers=self.answers, key=self.idempotency_key,
                                 body=body, scope=scope, status_code=status_code)

    @property
    def runtime(self) -> CommandRuntime:
        return runtime(self.request)


class Commands:
    """A service's command layer, bound to its table of stored answers."""

    def __init__(self, answers: type[IdempotentRequestRow]):
        self.answers = answers

    def authorized(self, permission: Permission, action: str):
        """The dependency of a command route: ``authorized(permission, action)`` (401/403, audited)
        and the ``Idempotency-Key`` header, as a ``Command``. Use ``cmd.access`` in the route, not a
        second ``authorized`` dependency (that would audit twice)."""
        answers = self.answers

        async def command(request: Request, access: Access = authorized(permission, action),
                          idempotency_key: str | None = idempotency_key_header()) -> Command:
            acting(access)
            return Command(access, request, idempotency_key, answers)

        return Depends(command)
