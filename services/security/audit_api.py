"""``GET /audit`` on every service: its own audit trail, by participant and/or by user, for the
privacy officer of the caller's tenant (never another tenant's rows)."""

from fastapi import APIRouter, Query, Request

from .audit import entries, view
from .dependencies import Access, authorized
from .roles import Permission

router = APIRouter(tags=["audit"])


@router.get("/audit")
async def get_audit(request: Request, participant_id: str | None = Query(None, max_length=64),
                    subject: str | None = Query(None, max_length=128), limit: int = Query(500, ge=1, le=5000),
                    access: Access = authorized(Permission.AUDIT_READ)) -> dict:
    """Who read or changed what, when, why and with what outcome (ids and codes only)."""
    await request.app.state.audit_writer.flush()  # every access answered so far is in the answer
    async with request.app.state.runtime.db.sessions() as s:
        rows = await entries(s, access.tenant, participant_id=participant_id, subject=subject, limit=limit)
    return {"service": request.app.state.runtime.service, "tenant_id": access.tenant,
            "entries": [view(e) for e in rows]}
