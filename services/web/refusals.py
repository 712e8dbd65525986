"""Why a command is refused, each with its HTTP status: the one hierarchy every service's
domain and handlers raise, and the one place it becomes an answer.

A refusal answers ``{"detail": <sentence>, **details}`` (the documented ``ErrorBody``: some
refusals add fields, e.g. ``missing_sections`` or ``reasons``). A refused command changes nothing:
it is raised inside the command's unit of work, which rolls back. ``answer_refusals(app)``
installs the answer on an app; ``authorized``'s audit row records the refusal's status."""

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


class Refused(Exception):
    """A command (or a read) the service will not carry out, with why. 409 unless a subclass says."""

    status_code = 409

    def __init__(self, message: str, **details):
        super().__init__(message)
        self.message = message
        self.details = details

    def body(self) -> dict:
        return {"detail": self.message, **self.details}


class NotFound(Refused, LookupError):
    """404: it does not exist, or it is outside the caller's scope (the same answer for both)."""

    status_code = 404


class Conflict(Refused):
    """409: in conflict with the current state (already signed, superseded version, closed plan, ...)."""

    status_code = 409


class NotPermitted(Refused):
    """403: the caller's token does not allow this particular act (e.g. its role may not sign
    this section), beyond the route's permission which ``authorized`` checks."""

    status_code = 403


class Rejected(Refused):
    """422: the input is well-formed but the change breaks a rule (names the field or the reasons)."""

    status_code = 422


class KeyReused(Rejected):
    """422: the ``Idempotency-Key`` was already used for a different request."""


def refusal_response(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Refused)
    return JSONResponse(exc.body(), status_code=exc.status_code)


def answer_refusals(app: FastAPI) -> None:
    """Answer every ``Refused`` raised by ``app``'s routes with its status and body."""
    app.add_exception_handler(Refused, refusal_response)
