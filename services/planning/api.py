"""Planning's HTTP routes: read plans and progress."""

from fastapi import APIRouter, HTTPException, Request
from sqlalchemy import select

from .tables import PlanVersion, Progress

router = APIRouter(tags=["planning"])


@router.get("/participants/{participant_id}/plan")
async def get_plan(participant_id: str, request: Request) -> dict:
    async with request.app.state.runtime.db.sessions() as s:
        versions = (await s.scalars(select(PlanVersion).where(PlanVersion.participant_id == participant_id)
                                    .order_by(PlanVersion.created_at, PlanVersion.version))).all()
        progress = await s.get(Progress, participant_id)
    if not versions:
        raise HTTPException(404, f"no plan for participant: {participant_id}")
    current = versions[-1]
    return {
        "plan": current.body,
        "history": [{"plan_id": v.plan_id, "version": v.version, "reason_code": v.reason_code,
                     "created_at": v.created_at.isoformat()} for v in versions],
        "progress": None if progress is None else {
            "sessions_attended": progress.sessions_attended, "sessions_missed": progress.sessions_missed,
            "hours_attended": round(progress.minutes_attended / 60, 2),
            "ready_for_step_down": progress.step_down_declared},
    }
