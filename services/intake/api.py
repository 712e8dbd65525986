"""Intake's HTTP routes: thin — authorize, validate, call a handler in a unit of work, answer.

Every route needs a bearer token whose role grants it (services/security/roles.py) and sees
only participants of the token's tenant and programs (404 otherwise, as for one that does not
exist); each access is audited. Whoever signs, scores or completes still states their
``{staff_id, role}`` in the body, and intake checks that role for the section. Every command
takes an optional ``Idempotency-Key`` header: a retry with the same key creates nothing twice."""

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Header, HTTPException, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.contracts.base import Id
from services.contracts.codes import Instrument
from services.eventing.runtime import ServiceRuntime, UnitOfWork
from services.security.dependencies import Access, authorized
from services.security.roles import Permission
from services.privacy.ports import KeyManagement
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


async def participant_in_scope(s: AsyncSession, access: Access, participant_id: str) -> Participant:
    """The participant, if the caller may see them; else the same 404 as for one that does not exist."""
    p = await s.get(Participant, participant_id)
    if p is None or not access.admits(p.id, p.tenant_id, p.program_id):
        raise UnknownParticipant(f"unknown participant: {participant_id}")
    access.resource = f"participant:{participant_id}"
    return p


async def assessment_in_scope(s: AsyncSession, access: Access, assessment_id: str) -> Assessment:
    a = await s.get(Assessment, assessment_id)
    p = None if a is None else await s.get(Participant, a.participant_id)
    if a is None or p is None or not access.admits(p.id, p.tenant_id, p.program_id):
        raise UnknownAssessment(f"unknown assessment: {assessment_id}")
    access.resource = f"assessment:{assessment_id}"
    return a


def _keys(request: Request) -> KeyManagement:
    return _rt(request).extras["keys"]


async def _command(request: Request, key: str | None, body: BaseModel | None, status_code: int,
                   action: Callable[[UnitOfWork], Awaitable[dict]],
                   guard: Callable[[AsyncSession], Awaitable[object]] | None = None) -> JSONResponse:
    """Run one command in one transaction, remembering its answer under its key. ``guard``
    (the caller's scope) is checked first, before any remembered answer is given back."""
    fp = fingerprint(request.method, request.url.path, body.model_dump(mode="json") if body else {})
    for attempt in (1, 2):
        try:
            async with _rt(request).unit_of_work() as uow:
                if guard:
                    await guard(uow.session)
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
async def post_referral(body: ReceiveReferral, request: Request, idempotency_key: str | None = IdempotencyKey,
                        access: Access = authorized(Permission.REFERRAL_CREATE, "referral.create")):
    """A referral (self, provider, emergency department, inpatient discharge). The identity
    stays in intake; events carry the new participant id. The tenant is the caller's (a
    ``tenant_id`` in the body must match it); the program one of the caller's (required in the
    body when the token names several)."""
    body = body.model_copy(update=_referral_scope(body, access))

    async def act(uow: UnitOfWork) -> dict:
        a = await handlers.receive_referral(uow.session, uow.outbox, body)
        access.admits(a.participant_id, body.tenant_id, body.program_id)
        access.resource = f"participant:{a.participant_id}"
        return {"participant_id": a.participant_id, "referral_id": a.referral_id, "episode_id": a.episode_id,
                "tenant_id": body.tenant_id, "program_id": body.program_id}
    return await _command(request, idempotency_key, body, 201, act)


def _referral_scope(body: ReceiveReferral, access: Access) -> dict:
    tenant = body.tenant_id or access.tenant
    if tenant != access.tenant:
        raise HTTPException(403, "tenant_id: a referral can only be made in the caller's own tenant")
    programs = access.principal.programs
    if body.program_id is None and len(programs) != 1:
        raise HTTPException(422, "program_id is required: the caller's token names "
                                 f"{len(programs)} programs")
    program = body.program_id or programs[0]
    if program not in programs:
        raise HTTPException(403, f"program_id: {program} is not one of the caller's programs")
    return {"tenant_id": tenant, "program_id": program}


# --- assessments -------------------------------------------------------------------------


@router.post("/participants/{participant_id}/assessments", status_code=status.HTTP_201_CREATED,
             responses=COMMAND_ERRORS)
async def post_assessment(participant_id: Id, body: OpenAssessment, request: Request,
                          idempotency_key: str | None = IdempotencyKey,
                          access: Access = authorized(Permission.ASSESSMENT_WRITE, "assessment.open")):
    """Open an assessment (initial, or a re-assessment during treatment) on the
    participant's latest referral; its sections and instruments are then recorded."""
    async def act(uow: UnitOfWork) -> dict:
        a = await handlers.open_assessment(uow.session, participant_id, body)
        return {"assessment_id": a.id, "participant_id": participant_id, "episode_id": a.episode_id,
                "kind": a.kind, "status": a.status}
    return await _command(request, idempotency_key, body, 201, act,
                          guard=lambda s: participant_in_scope(s, access, participant_id))


def _section_routes(section: Section, model: type[BaseModel]) -> None:
    path = f"/assessments/{{assessment_id}}/sections/{section.value}"

    async def put_section(assessment_id: Id, body: model, request: Request,  # type: ignore[valid-type]
                          idempotency_key: str | None = IdempotencyKey,
                          access: Access = authorized(Permission.ASSESSMENT_WRITE, f"section.{section.value}.record")):
        async def act(uow: UnitOfWork) -> dict:
            row = await handlers.record_section(uow.session, assessment_id, section, body)
            return {"assessment_id": assessment_id, "section": section.value, "signed": row.signed_at is not None}
        return await _command(request, idempotency_key, body, 200, act,
                              guard=lambda s: assessment_in_scope(s, access, assessment_id))

    async def sign(assessment_id: Id, body: SignSection, request: Request,
                   idempotency_key: str | None = IdempotencyKey,
                   access: Access = authorized(Permission.ASSESSMENT_WRITE, f"section.{section.value}.sign")):
        async def act(uow: UnitOfWork) -> dict:
            row = await handlers.sign_section(uow.session, assessment_id, section, body.signer)
            return {"assessment_id": assessment_id, "section": section.value, "signed": True,
                    "signed_by": row.signed_by, "signed_at": row.signed_at.isoformat()}
        return await _command(request, idempotency_key, body, 200, act,
                              guard=lambda s: assessment_in_scope(s, access, assessment_id))

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
                    idempotency_key: str | None = IdempotencyKey,
                    access: Access = authorized(Permission.ASSESSMENT_WRITE, f"instrument.{instrument.value}.score")):
        async def act(uow: UnitOfWork) -> dict:
            scored = await handlers.score_instrument(uow.session, uow.outbox, assessment_id, instrument, body)
            result, flag = scored
            return {"assessment_id": assessment_id, "instrument": instrument.value, "total": result.total,
                    "band": result.band, "additional_answer": scored.additional,
                    "safety_flag": None if flag is None else {
                        "flag_id": flag.id, "severity": flag.severity, "triggers": flag.triggers,
                        "respond_by": flag.respond_by.isoformat()}}
        return await _command(request, idempotency_key, body, 200, act,
                              guard=lambda s: assessment_in_scope(s, access, assessment_id))

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
                          idempotency_key: str | None = IdempotencyKey,
                          access: Access = authorized(Permission.ASSESSMENT_WRITE, "assessment.complete")):
    """Complete the assessment once its required sections are signed and its instruments
    scored: the level-of-care decision (a clinician may override it, with a reason).
    Only level 2.1 goes on to planning; the others are referred out. The goals in the
    participant's words travel in AssessmentCompleted sealed for the participant."""
    async def act(uow: UnitOfWork) -> dict:
        a, _ = await handlers.complete_assessment(uow.session, uow.outbox, assessment_id, body, _keys(request))
        return _outcome(a)
    return await _command(request, idempotency_key, body, 200, act,
                          guard=lambda s: assessment_in_scope(s, access, assessment_id))


@router.get("/assessments/{assessment_id}", responses=errors(404))
async def get_assessment(assessment_id: Id, request: Request,
                         access: Access = authorized(Permission.ASSESSMENT_READ, "assessment.read")) -> dict:
    """One assessment for the team: its sections, scores, safety flags and (while open and
    complete enough) the rules' provisional recommendation."""
    async with _rt(request).db.sessions() as s:
        a = await assessment_in_scope(s, access, assessment_id)
        sections = (await s.scalars(select(AssessmentSection).where(AssessmentSection.assessment_id == a.id))).all()
        responses = (await s.scalars(select(InstrumentResponse).where(InstrumentResponse.assessment_id == a.id))).all()
        flags = (await s.scalars(select(SafetyFlag).where(SafetyFlag.assessment_id == a.id))).all()
        provisional = None
        if a.status == "open":
            try:
                ev = await handlers.evaluate(s, a)
                provisional = {"level_of_care": ev.rule.level.value, "rationale_codes": list(ev.rule.rationale),
                               "dimensions": {d.value: r for d, r in ev.ratings.items()},
                               "needs_confirmation": list(ev.rule.needs_confirmation)}
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
async def list_assessments(participant_id: Id, request: Request,
                           access: Access = authorized(Permission.ASSESSMENT_READ, "assessment.list")) -> dict:
    async with _rt(request).db.sessions() as s:
        await participant_in_scope(s, access, participant_id)
        rows = (await s.scalars(select(Assessment).where(Assessment.participant_id == participant_id)
                                .order_by(Assessment.opened_at))).all()
    return {"participant_id": participant_id, "assessments": [_outcome(a) for a in rows]}


@router.get("/participants/{participant_id}", responses=errors(404))
async def get_participant(participant_id: Id, request: Request,
                          access: Access = authorized(Permission.PARTICIPANT_READ, "participant.read")) -> dict:
    """Where the participant stands in intake (ids and codes; no identifying details)."""
    async with _rt(request).db.sessions() as s:
        p = await participant_in_scope(s, access, participant_id)
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


@router.delete("/participants/{participant_id}/data-key")
async def delete_data_key(participant_id: str, request: Request,
                          access: Access = authorized(Permission.PARTICIPANT_ERASE, "participant.erase")) -> dict:
    """Crypto-shredding: delete the participant's data key. Every sealed copy of their words
    (goals in AssessmentCompleted on the topics, planning's copy) can no longer be opened;
    consumers still handle those events by their ids and codes, and show the words as
    unavailable. Intake's own record stays (the clinical record, under its retention rules).
    A later assessment seals under a new key. Repeating it changes nothing."""
    async with _rt(request).db.sessions() as s:
        await participant_in_scope(s, access, participant_id)
        shredded = await handlers.shred_data_keys(s, _keys(request), participant_id)
    return {"participant_id": participant_id,
            "shredded_keys": [{"key_id": k.key_id, "shredded_at": k.shredded_at} for k in shredded]}
