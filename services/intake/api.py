"""Intake's HTTP routes: thin — validate, call a handler in a unit of work, answer.

No authentication exists yet (a later issue): whoever signs, scores or completes states
their ``{staff_id, role}`` in the body, and intake checks the role. Every command takes an
optional ``Idempotency-Key`` header: a retry with the same key creates nothing twice."""

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Header, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from services.contracts.base import Id
from services.contracts.codes import Instrument
from services.eventing.runtime import ServiceRuntime, UnitOfWork
from services.web.error_responses import errors

from . import handlers
from .commands import (
    AuditC,
    ClinicalInterview,
    CompleteAssessment,
    CssrsScreener,
    Dast10,
    Gad7,
    OpenAssessment,
    Phq9,
    PsychiatricMedical,
    Psychosocial,
    ReceiveReferral,
    SignSection,
    SubstanceUse,
)
from .domain.sections import Section
from .idempotency import fingerprint, remember, stored_answer
from .refusals import Incomplete, Refused, UnknownAssessment, UnknownParticipant
from .tables import Assessment, AssessmentSection, InstrumentResponse, Participant, Referral, SafetyFlag

router = APIRouter(tags=["intake"])
COMMAND_ERRORS = errors(403, 404, 409)  # a refusal (refusals.py); 422 is declared for every route with input

IdempotencyKey = Header(default=None, alias="Idempotency-Key", max_length=200,
                        description="Send the same key when retrying: the request takes effect once")


def _rt(request: Request) -> ServiceRuntime:
    return request.app.state.runtime


async def _command(request: Request, key: str | None, body: BaseModel | None, status_code: int,
                   action: Callable[[UnitOfWork], Awaitable[dict]]) -> JSONResponse:
    """Run one command in one transaction, remembering its answer under its key."""
    fp = fingerprint(request.method, request.url.path, body.model_dump(mode="json") if body else {})
    for attempt in (1, 2):
        try:
            async with _rt(request).unit_of_work() as uow:
                if key and (stored := await stored_answer(uow.session, key, fp)):
                    return JSONResponse(stored[1], status_code=stored[0])
                answer = await action(uow)
                if key:
                    remember(uow.session, key, fp, status_code, answer)
            return JSONResponse(answer, status_code=status_code)
        except IntegrityError:
            if not key or attempt == 2:
                raise  # a concurrent retry with the same key won: the second pass answers from it
    raise AssertionError("unreachable")


def refusal_response(_request: Request, exc: Refused) -> JSONResponse:
    return JSONResponse({"detail": exc.message, **exc.details}, status_code=exc.status_code)


# --- referrals ---------------------------------------------------------------------------


@router.post("/referrals", status_code=status.HTTP_201_CREATED, responses=COMMAND_ERRORS)
async def post_referral(body: ReceiveReferral, request: Request, idempotency_key: str | None = IdempotencyKey):
    """A referral (self, provider, emergency department, inpatient discharge). The identity
    stays in intake; events carry the new participant id."""
    async def act(uow: UnitOfWork) -> dict:
        a = await handlers.receive_referral(uow.session, uow.outbox, body)
        return {"participant_id": a.participant_id, "referral_id": a.referral_id, "episode_id": a.episode_id}
    return await _command(request, idempotency_key, body, 201, act)


# --- assessments -------------------------------------------------------------------------


@router.post("/participants/{participant_id}/assessments", status_code=status.HTTP_201_CREATED,
             responses=COMMAND_ERRORS)
async def post_assessment(participant_id: Id, body: OpenAssessment, request: Request,
                          idempotency_key: str | None = IdempotencyKey):
    """Open an assessment (initial, or a re-assessment during treatment) on the
    participant's latest referral; its sections and instruments are then recorded."""
    async def act(uow: UnitOfWork) -> dict:
        a = await handlers.open_assessment(uow.session, participant_id, body)
        return {"assessment_id": a.id, "participant_id": participant_id, "episode_id": a.episode_id,
                "kind": a.kind, "status": a.status}
    return await _command(request, idempotency_key, body, 201, act)


def _section_routes(section: Section, model: type[BaseModel]) -> None:
    path = f"/assessments/{{assessment_id}}/sections/{section.value}"

    async def put_section(assessment_id: Id, body: model, request: Request,  # type: ignore[valid-type]
                          idempotency_key: str | None = IdempotencyKey):
        async def act(uow: UnitOfWork) -> dict:
            row = await handlers.record_section(uow.session, assessment_id, section, body)
            return {"assessment_id": assessment_id, "section": section.value, "signed": row.signed_at is not None}
        return await _command(request, idempotency_key, body, 200, act)

    async def sign(assessment_id: Id, body: SignSection, request: Request,
                   idempotency_key: str | None = IdempotencyKey):
        async def act(uow: UnitOfWork) -> dict:
            row = await handlers.sign_section(uow.session, assessment_id, section, body.signer)
            return {"assessment_id": assessment_id, "section": section.value, "signed": True,
                    "signed_by": row.signed_by, "signed_at": row.signed_at.isoformat()}
        return await _command(request, idempotency_key, body, 200, act)

    title = section.value.replace("_", " ")
    router.add_api_route(path, put_section, methods=["PUT"], summary=f"Record the {title} section",
                         description=model.__doc__, responses=COMMAND_ERRORS)
    router.add_api_route(f"{path}/signature", sign, methods=["POST"], summary=f"Sign the {title} section",
                         responses=COMMAND_ERRORS)


for _section, _model in ((Section.CLINICAL_INTERVIEW, ClinicalInterview), (Section.PSYCHIATRIC_MEDICAL, PsychiatricMedical),
                         (Section.SUBSTANCE_USE, SubstanceUse), (Section.PSYCHOSOCIAL, Psychosocial)):
    _section_routes(_section, _model)


def _instrument_route(instrument: Instrument, model: type[BaseModel]) -> None:
    async def score(assessment_id: Id, body: model, request: Request,  # type: ignore[valid-type]
                    idempotency_key: str | None = IdempotencyKey):
        async def act(uow: UnitOfWork) -> dict:
            result, flag = await handlers.score_instrument(uow.session, uow.outbox, assessment_id, instrument, body)
            return {"assessment_id": assessment_id, "instrument": instrument.value, "total": result.total,
                    "band": result.band,
                    "safety_flag": None if flag is None else {
                        "flag_id": flag.id, "severity": flag.severity, "triggers": flag.triggers,
                        "respond_by": flag.respond_by.isoformat()}}
        return await _command(request, idempotency_key, body, 200, act)

    router.add_api_route(f"/assessments/{{assessment_id}}/instruments/{instrument.value}", score,
                         methods=["POST"], summary=f"Score {instrument.value}", responses=COMMAND_ERRORS)


for _instrument, _model in ((Instrument.PHQ9, Phq9), (Instrument.GAD7, Gad7), (Instrument.AUDIT_C, AuditC),
                            (Instrument.DAST10, Dast10), (Instrument.CSSRS_SCREENER, CssrsScreener)):
    _instrument_route(_instrument, _model)


def _outcome(a: Assessment) -> dict:
    return {"assessment_id": a.id, "participant_id": a.participant_id, "episode_id": a.episode_id,
            "kind": a.kind, "status": a.status, "scores": a.scores, "findings": a.findings,
            "dimensions": a.dimensions, "rationale_codes": a.rationale,
            "recommended_level_of_care": a.recommended_level, "rule_level_of_care": a.rule_level,
            "overridden": a.override_reason_code is not None, "admitted_to_iop": a.admitted,
            "safety_flagged": a.safety_flagged,
            "completed_at": a.completed_at.isoformat() if a.completed_at else None}


@router.post("/assessments/{assessment_id}/completion", responses=COMMAND_ERRORS)
async def post_completion(assessment_id: Id, body: CompleteAssessment, request: Request,
                          idempotency_key: str | None = IdempotencyKey):
    """Complete the assessment once its required sections are signed and its instruments
    scored: the level-of-care decision (a clinician may override it, with a reason).
    Only level 2.1 goes on to planning; the others are referred out."""
    async def act(uow: UnitOfWork) -> dict:
        a, _ = await handlers.complete_assessment(uow.session, uow.outbox, assessment_id, body)
        return _outcome(a)
    return await _command(request, idempotency_key, body, 200, act)


@router.get("/assessments/{assessment_id}", responses=errors(404))
async def get_assessment(assessment_id: Id, request: Request) -> dict:
    """One assessment for the team: its sections, scores, safety flags and (while open and
    complete enough) the rules' provisional recommendation."""
    async with _rt(request).db.sessions() as s:
        a = await s.get(Assessment, assessment_id)
        if a is None:
            raise UnknownAssessment(f"unknown assessment: {assessment_id}")
        sections = (await s.scalars(select(AssessmentSection).where(AssessmentSection.assessment_id == a.id))).all()
        responses = (await s.scalars(select(InstrumentResponse).where(InstrumentResponse.assessment_id == a.id))).all()
        flags = (await s.scalars(select(SafetyFlag).where(SafetyFlag.assessment_id == a.id))).all()
        provisional = None
        if a.status == "open":
            try:
                ev = await handlers.evaluate(s, a)
                provisional = {"level_of_care": ev.rule.level.value, "rationale_codes": list(ev.rule.rationale),
                               "dimensions": {d.value: r for d, r in ev.ratings.items()}}
            except Incomplete as exc:
                provisional = {"missing": exc.details}
    return {**_outcome(a), "provisional_recommendation": provisional,
            "sections": [{"section": x.section, "content": x.content, "recorded_by": x.recorded_by,
                          "signed_by": x.signed_by, "signed_role": x.signed_role,
                          "signed_at": x.signed_at.isoformat() if x.signed_at else None} for x in sections],
            "instruments": [{"instrument": r.instrument, "total": r.total, "band": r.band} for r in responses],
            "safety_flags": [{"flag_id": f.id, "severity": f.severity, "triggers": f.triggers,
                              "respond_by": f.respond_by.isoformat()} for f in flags]}


@router.get("/participants/{participant_id}/assessments", responses=errors(404))
async def list_assessments(participant_id: Id, request: Request) -> dict:
    async with _rt(request).db.sessions() as s:
        if await s.get(Participant, participant_id) is None:
            raise UnknownParticipant(f"unknown participant: {participant_id}")
        rows = (await s.scalars(select(Assessment).where(Assessment.participant_id == participant_id)
                                .order_by(Assessment.opened_at))).all()
    return {"participant_id": participant_id, "assessments": [_outcome(a) for a in rows]}


@router.get("/participants/{participant_id}", responses=errors(404))
async def get_participant(participant_id: Id, request: Request) -> dict:
    """Where the participant stands in intake (ids and codes; no identifying details)."""
    async with _rt(request).db.sessions() as s:
        p = await s.get(Participant, participant_id)
        if p is None:
            raise UnknownParticipant(f"unknown participant: {participant_id}")
        referrals = (await s.scalars(select(Referral).where(Referral.participant_id == participant_id)
                                     .order_by(Referral.received_at))).all()
        assessments = (await s.scalars(select(Assessment).where(Assessment.participant_id == participant_id)
                                       .order_by(Assessment.opened_at))).all()
    return {
        "participant_id": p.id, "tenant_id": p.tenant_id, "program_id": p.program_id,
        "referrals": [{"referral_id": r.id, "episode_id": r.episode_id, "source": r.source,
                       "prior_episode_id": r.prior_episode_id, "status": r.status} for r in referrals],
        "assessments": [_outcome(a) for a in assessments],
    }
