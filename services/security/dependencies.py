"""The FastAPI side: ``authorized(permission, action)`` is a route's dependency. It reads the
bearer token and verifies it with the issuer's keys (services.security.tokens: 401 with
``WWW-Authenticate`` naming the reason when missing, invalid, expired or too old), checks the role
matrix (403), and hands the route an ``Access`` to check the participant's scope with (the route
answers 404, exactly as for a participant that does not exist). When the route is done the
access is handed to the audit trail's writer with its outcome."""

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Literal

from fastapi import Depends, Header, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.contracts.base import Actor

from .audit import AuditRecord
from .principal import Principal
from .roles import Permission, granting_role
from .tokens import InvalidToken, TokenVerifier

PurposeOfUse = Literal["treatment", "emergency_treatment", "care_coordination", "operations", "payment", "audit"]
"""HL7 purpose-of-use, in words: why the caller looks (``X-Purpose-Of-Use``; default treatment)."""

bearer = HTTPBearer(auto_error=False, description="OAuth2 bearer token: an access token (JWT, RS256 or ES256) "
                    "of the deployment's OpenID Connect issuer naming the caller's roles, tenant and programs")


@dataclass
class Access:
    """One authorized request: who, with which role, why; the route tells it which
    participants it touched (``admits``/``saw``) so the audit rows name them."""

    principal: Principal
    role: str
    action: str
    purpose: str
    resource: str = ""
    participants: dict[str, str | None] = field(default_factory=dict)  # participant id -> program id
    out_of_scope: bool = False
    owner_tenant: str | None = None
    """The tenant that owns what a tenant-less service identity (the flow server) touched: its
    audit rows go to that tenant's trail, where the owner's privacy officer reads them."""

    def admits(self, participant_id: str, tenant_id: str | None, program_id: str | None) -> bool:
        """Whether the participant is in the caller's scope (recorded either way)."""
        self.participants[participant_id] = program_id
        if not self.principal.in_scope(tenant_id, program_id):
            self.out_of_scope = True
            return False
        return True

    def saw(self, participant_id: str, program_id: str | None) -> None:
        """A participant shown in a list (already filtered to the caller's scope)."""
        self.participants[participant_id] = program_id

    @property
    def tenant(self) -> str:
        return self.principal.tenant

    @property
    def actor(self) -> Actor:
        """Who acts, for the records and events: the token's subject and the role that allowed it."""
        return Actor(id=self.principal.subject, role=self.role)


def _unauthorized(detail: str, error: str | None) -> HTTPException:
    # RFC 6750: the description is a quoted-string of printable ASCII without " or \\
    quoted = "".join(c for c in detail if c.isascii() and c.isprintable() and c not in '"\\')
    challenge = 'Bearer realm="continuum"' + (f', error="{error}", error_description="{quoted}"' if error else "")
    return HTTPException(401, detail, headers={"WWW-Authenticate": challenge})


async def authenticate(request: Request, credentials: HTTPAuthorizationCredentials | None) -> Principal:
    """The caller, from a verified bearer token; 401 otherwise. Verifying uses the keys the
    process holds (fetched from the issuer's JWKS when a token names one not held yet)."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise _unauthorized("a bearer token is required (Authorization: Bearer <token>)", None)
    verifier: TokenVerifier = request.app.state.token_verifier
    try:
        return await verifier.verify(credentials.credentials)
    except InvalidToken as exc:
        raise _unauthorized(str(exc), "invalid_token") from None


def _outcome(status_code: int, access: Access) -> str:
    if status_code < 400:
        return "success"
    if status_code == 404:
        return "out_of_scope" if access.out_of_scope else "not_found"
    return "error" if status_code >= 500 else "refused"


async def _write(request: Request, access: Access, outcome: str, status_code: int) -> None:
    asked = request.path_params.get("participant_id")  # a participant looked for and not found
    touched = access.participants.items() or [(asked, None)]
    request.app.state.audit_writer.add([
        AuditRecord(access.tenant or access.owner_tenant or "", access.principal.subject, access.role, access.action,
                    access.resource or request.scope["route"].path, pid, program, access.purpose, outcome,
                    status_code)
        for pid, program in touched])


def authorized(permission: Permission, action: str | None = None):
    """The dependency of a route needing ``permission``; ``action`` names it in the audit trail
    (None: aggregates only, nothing about a participant — not audited)."""

    async def dependency(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
                         purpose: PurposeOfUse = Header("treatment", alias="X-Purpose-Of-Use")
                         ) -> AsyncIterator[Access]:
        principal = await authenticate(request, credentials)
        role = granting_role(principal.roles, permission)
        if role is None:
            if action:
                denied = Access(principal, ",".join(principal.roles)[:32] or "none", action, purpose)
                if pid := request.path_params.get("participant_id"):
                    denied.participants[pid] = None
                await _write(request, denied, "forbidden", 403)
            raise HTTPException(403, f"{permission.value} is not granted to the role(s) {', '.join(principal.roles)}")
        access = Access(principal, role.value, action or permission.value, purpose)
        if action is None:
            yield access
            return
        try:
            yield access
        except HTTPException as exc:
            await _write(request, access, _outcome(exc.status_code, access), exc.status_code)
            raise
        except Exception as exc:
            code = getattr(exc, "status_code", 500)
            await _write(request, access, _outcome(code if isinstance(code, int) else 500, access), code)
            raise
        await _write(request, access, "success", request.scope["route"].status_code or 200)

    return Depends(dependency, scope="function")
