"""The error answers every service documents in its OpenAPI page: one body shape for every
refusal, so clients (and the schemathesis run in the tests) can rely on it."""

from typing import Any

from fastapi import APIRouter
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import get_flat_params
from fastapi.routing import APIRoute
from fastapi.security.base import SecurityBase
from pydantic import BaseModel, ConfigDict


class FieldProblem(BaseModel):
    """One problem with the input (FastAPI's shape): where it is (``loc``, e.g.
    ``["body", "items", 2]``), what is wrong (``msg``) and its ``type``."""

    model_config = ConfigDict(extra="allow")
    loc: list[str | int]
    msg: str
    type: str


class ErrorBody(BaseModel):
    """Why a request was refused: ``detail`` is a sentence, the list of problems with the input
    (each naming its field), or an object with the reasons; some refusals add fields."""

    model_config = ConfigDict(extra="allow")
    detail: str | list[FieldProblem] | dict[str, Any]


DESCRIPTIONS = {
    400: "The body cannot be read as JSON text (e.g. not UTF-8)",
    401: "No bearer token, or an invalid or expired one (WWW-Authenticate: Bearer)",
    403: "Not permitted for the token's role(s), or the stated role",
    404: "Not found",
    409: "In conflict with the current state (detail says which)",
    413: "Request body over the size limit (detail names the limit)",
    422: "Invalid input (detail names each field) or a change refused with its reasons",
    503: "A service it depends on did not answer (e.g. the mail server): nothing changed, try again later",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: the error statuses it may answer, with their body."""
    return {code: {"model": ErrorBody, "description": DESCRIPTIONS[code]} for code in codes}


def _behind_a_token(dependant: Dependant) -> bool:
    """Whether the route (through any of its dependencies) asks for a security scheme."""
    return isinstance(dependant.call, SecurityBase) or any(_behind_a_token(d) for d in dependant.dependencies)


def document_common_errors(router: APIRouter) -> None:
    """Every route of ``router`` may answer 413 (the size limit); behind a bearer token, 401 and
    403; with a body, 400 (not JSON text); with any input, 422 with the shared body (FastAPI's
    own 422 schema fits only its validation errors). Call it before the router is included in
    the app: the included routes take the router's routes' responses."""
    for route in router.routes:
        if not isinstance(route, APIRoute):
            continue
        common = [413]
        if _behind_a_token(route.dependant):
            common += [401, 403]
        if route.body_field:
            common.append(400)
        if route.body_field or get_flat_params(route.dependant):
            common.append(422)
        for code, spec in errors(*common).items():
            route.responses.setdefault(code, spec)
