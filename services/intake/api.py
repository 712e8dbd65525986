"""Intake's HTTP routes: thin — validate, call a handler in a unit of work, answer."""

from fastapi import APIRouter, HTTPException, Request, status
from sqlalchemy import select

from services.eventing.runtime import ServiceRuntime

from .commands import CompleteAssessment, ReceiveReferral
from .handlers import NoOpenReferral, UnknownParticipant, complete_assessment, receive_referral
from .tables import Assessment, Participant, Referral

router = APIRouter(tags=["intake"])


def _rt(request: Request) -> ServiceRuntime:
    return request.app.state.runtime


@router.post("/referrals", status_code=status.HTTP_201_CREATED)
async def post_referral(body: ReceiveReferral, request: Request) -> dict:
    async with _rt(request).unit_of_work() as uow:
        accepted = await receive_referral(uow.session, uow.outbox, body)
    return {"participant_id": accepted.participant_id, "referral_id": accepted.referral_id,
            "episode_id": accepted.episode_id}


@router.post("/participants/{participant_id}/assessments", status_code=status.HTTP_201_CREATED)
async def post_assessment(participant_id: str, body: CompleteAssessment, request: Request) -> dict:
    try:
        async with _rt(request).unit_of_work() as uow:
            a = await complete_assessment(uow.session, uow.outbox, participant_id, body)
    except UnknownParticipant:
        raise HTTPException(404, f"unknown participant: {participant_id}") from None
    except NoOpenReferral:
        raise HTTPException(409, f"participant {participant_id} has no referral to assess") from None
    return {"assessment_id": a.id, "episode_id": a.episode_id, "scores": a.scores,
            "findings": a.findings, "recommended_level_of_care": a.recommended_level,
            "admitted_to_iop": a.admitted, "safety_flagged": a.safety_flagged}


@router.get("/participants/{participant_id}")
async def get_participant(participant_id: str, request: Request) -> dict:
    """Where the participant stands in intake (ids and codes; no identifying details)."""
    async with _rt(request).db.sessions() as s:
        p = await s.get(Participant, participant_id)
        if p is None:
            raise HTTPException(404, f"unknown participant: {participant_id}")
        referrals = (await s.scalars(select(Referral).where(Referral.participant_id == participant_id)
                                     .order_by(Referral.received_at))).all()
        assessments = (await s.scalars(select(Assessment).where(Assessment.participant_id == participant_id)
                                       .order_by(Assessment.completed_at))).all()
    return {
        "participant_id": p.id, "tenant_id": p.tenant_id, "program_id": p.program_id,
        "referrals": [{"referral_id": r.id, "episode_id": r.episode_id, "source": r.source,
                       "prior_episode_id": r.prior_episode_id, "status": r.status} for r in referrals],
        "assessments": [{"assessment_id": a.id, "kind": a.kind, "scores": a.scores,
                         "recommended_level_of_care": a.recommended_level, "admitted_to_iop": a.admitted,
                         "safety_flagged": a.safety_flagged} for a in assessments],
    }
