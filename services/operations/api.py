"""Operations' HTTP routes: the dashboard page and the same figures as JSON. The JSON needs an
operations token and covers the token's tenant and programs only. The page signs its user in
with the identity provider (authorization code + PKCE, a public client): ``GET /api/identity``
tells it the issuer and the client id, nothing secret."""

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import FileResponse

from services.contracts.topics import CONSUMERS, consumed_topics
from services.eventing.consumer_lag import group_id
from services.eventing.logging import get_logger
from services.host.runtime import ServiceRuntime
from services.security.dependencies import Access, authorized
from services.security.roles import Permission

from .domain.figures import figures, scope_rows
from .settings import OperationsSettings
from .store import load_rows

router = APIRouter(tags=["operations"])
STATIC = Path(__file__).parent / "static"
log = get_logger(__name__)


def _rt(request: Request) -> ServiceRuntime:
    return request.app.state.runtime


def _settings(request: Request) -> OperationsSettings:
    return request.app.state.operations_settings


@router.get("/", include_in_schema=False)
async def dashboard() -> FileResponse:
    return FileResponse(STATIC / "index.html")


@router.get("/api/identity")
async def identity(request: Request) -> dict:
    """Where the dashboard page signs in: the OpenID Connect issuer and its public client
    (authorization code with PKCE S256; the token stays in the page's memory). No token needed,
    nothing secret."""
    verifier = request.app.state.token_verifier
    return {"issuer": verifier.issuer, "client_id": _settings(request).dashboard_client_id,
            "scope": "openid"}


async def consumer_lag(rt: ServiceRuntime, max_age_s: float = 2.0) -> dict:
    """Every consuming service's group: messages behind the end of the topics it reads."""
    at, cached = rt.extras.get("lag_all", (0.0, None))
    if cached is not None and time.monotonic() - at < max_age_s:
        return cached
    prefix = rt.settings.topic_prefix
    groups = {group_id(s, prefix): consumed_topics(s, prefix) for s in CONSUMERS}
    try:
        lag = await asyncio.wait_for(asyncio.to_thread(rt.lag_probe.lag, groups), 10)
    except Exception as exc:  # noqa: BLE001 - the figures still answer without it
        log.warning("consumer_lag.unavailable", error=type(exc).__name__)
        return cached or {"available": False, "by_service": []}
    result = {"available": all(g in lag for g in groups), "by_service": [
        {"service": s, "group": group_id(s, prefix), "lag": sum(lag[group_id(s, prefix)].values()),
         "by_topic": {t.removeprefix(prefix): n for t, n in sorted(lag[group_id(s, prefix)].items())}}
        for s in CONSUMERS if group_id(s, prefix) in lag]}
    rt.extras["lag_all"] = (time.monotonic(), result)
    return result


@router.get("/api/figures")
async def get_figures(request: Request, tenant: str | None = Query(None, max_length=64),
                      program: str | None = Query(None, max_length=64),
                      access: Access = authorized(Permission.DASHBOARD_READ)) -> dict:
    """Census, admissions/discharges, sessions and attendance, hours compliance, the pipeline,
    follow-up completion, safety flags, dead letters and consumer lag; of the caller's tenant and
    programs, optionally one program."""
    if tenant and tenant != access.tenant:
        raise HTTPException(403, "tenant: only the caller's own tenant")
    if program and program not in access.principal.programs:
        raise HTTPException(403, f"program: {program} is not one of the caller's programs")
    rt = _rt(request)
    async with rt.db.sessions() as s:
        rows = scope_rows(await load_rows(s), access.tenant, access.principal.programs)
    out = figures(rows, datetime.now(UTC), access.tenant, program or None, zone_of=_settings(request).zone_of)
    out["consumer_lag"] = await consumer_lag(rt)
    return out


@router.get("/api/consumer-lag")
async def get_consumer_lag(request: Request, _: Access = authorized(Permission.DASHBOARD_READ)) -> dict:
    return await consumer_lag(_rt(request))
