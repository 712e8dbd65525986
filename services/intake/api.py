"""Intake's HTTP routes: thin — each command goes through the command layer
(services/web/commands.py): authorized, scoped, one unit of work, refusals answered as
documented, ``Idempotency-Key`` honoured (a retry with the same key creates nothing twice).

Every route needs a bearer token whose role grants it (services/security/roles.py) and sees
only participants of the token's tenant and programs (404 otherwise, as for one that does not
exist); each access is audited. Who records, signs, administers or completes is the token's
subject, in the role that allows it (``actors.acting_as``: e.g. the psychiatric/medical section
needs the psychiatrist role); no body names anyone."""

from fastapi import APIRouter, Request, status
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.contracts.base import Id
from services.contracts.codes import Instrument
from services.eventing.unit_of_work import UnitOfWork
from services.host.runtime import ServiceRuntime
from services.privacy.ports import KeyManagement
from services.security.dependencies import Access, authorized
from services.security.roles import Permission
from services.web.commands import Command, Commands
from services.web.error_responses import errors
from services.web.refusals import NotPermitted, Rejected

from . import handlers
from .actors import acting_as
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
from .domain.sections import DECIDING_ROLES, SIGNING_ROLES, Section
from .handlers import Incomplete, UnknownAssessment, UnknownParticipant
from .tables import (
    Assessment,
    AssessmentSection,
    IdempotentRequest,
    InstrumentResponse,
    Participant,
    Referral,
    SafetyFlag,
)

router = APIRouter(tags=["intake"])
commands = Commands(IdempotentRequest)
COMMAND_ERRORS = errors(403, 404, 409)  # a refusal (services/web/refusals.py); 422 is declared for all input
ADMINISTERING_ROLES = DECIDING_ROLES | SIGNING_ROLES[Section.PSYCHOSOCIAL]
"""Who may administer an instrument: the clinicians, psychiatrists and case managers of the team."""


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


# --- referrals ---------------------------------------------------------------------------


@router.post("/referrals", status_code=status.HTTP_201_CREATED, responses=COMMAND_ERRORS)
async def post_referral(body: ReceiveReferral,
                        cmd: Command = commands.authorized(Permission.REFERRAL_CREATE, "referral.create")):
    """A referral (self, provider, emergency department, inpatient discharge). The identity
    stays in intake; events carry the new participant id. The tenant is the caller's (a
    ``tenant_id`` in the body must match it); the program one of the caller's (required in the
    body when the token names several)."""
    access = cmd.access
    body = body.model_copy(update=_referral_scope(body, access))

    async def act(uow: UnitOfWork) -> dict:
        a = await handlers.receive_referral(uow.session, uow.outbox, body)
        access.admits(a.participant_id, body.tenant_id, body.program_id)
        access.resource = f"participant:{a.participant_id}"
        return {"participant_id": a.participant_id, "referral_id": a.referral_id, "episode_id": a.episode_id,
                "tenant_id": body.tenant_id, "program_id": body.program_id}
    return await cmd.run(act, body=body)


def _referral_scope(body: ReceiveReferral, access: Access) -> dict:
    tenant = body.tenant_id or access.tenant
    if tenant != access.tenant:
        raise NotPermitted("tenant_id: a referral can only be made in the caller's own tenant", field="tenant_id")
    programs = access.principal.programs
    if body.program_id is None and len(programs) != 1:
        raise Rejected(f"program_id is required: the caller's token names {len(programs)} programs",
                       field="program_id")
    program = body.program_id or programs[0]
    if program not in programs:
        raise NotPermitted(f"program_id: {program} is not one of the caller's programs", field="program_id")
    return {"tenant_id": tenant, "program_id": program}


# --- assessments -------------------------------------------------------------------------


@router.post("/participants/{participant_id}/assessments", status_code=status.HTTP_201_CREATED,
             responses=COMMAND_ERRORS)
async def post_assessment(participant_id: Id, body: OpenAssessment,
                          cmd: Command = commands.authorized(Permission.ASSESSMENT_WRITE, "assessment.open")):
    """Open an assessment (initial, or a re-assessment during treatment) on the
    participant's latest referral; its sections and instruments are then recorded."""
    async def act(uow: UnitOfWork) -> dict:
        a = await handlers.open_assessment(uow.session, participant_id, body)
        return {"assessment_id": a.id, "participant_id": participant_id, "episode_id": a.episode_id,
                "kind": a.kind, "status": a.status}
    return await cmd.run(act, body=body, scope=lambda s: participant_in_scope(s, cmd.access, participant_id))


def _section_routes(section: Section, model: type[BaseModel]) -> None:
    path = f"/assessments/{{assessment_id}}/sections/{section.value}"
    may_sign = SIGNING_ROLES[section]

    async def put_section(assessment_id: Id, body: model,  # type: ignore[valid-type]
                          cmd: Command = commands.authorized(Permission.ASSESSMENT_WRITE,
                                                             f"section.{section.value}.record")):
        async def act(uow: UnitOfWork) -> dict:
            by = acting_as(cmd.access, may_sign, f"recording the {section.value} section")
            row = await handlers.record_section(uow.session, assessment_id, section, body, by)
            return {"assessment_id": assessment_id, "section": section.value, "signed": row.signed_at is not None,
                    "recorded_by": by.model_dump()}
        return await cmd.run(act, body=body, scope=lambda s: assessment_in_scope(s, cmd.access, assessment_id))

    async def sign(assessment_id: Id, body: SignSection | None = None,
                   cmd: Command = commands.authorized(Permission.ASSESSMENT_WRITE, f"section.{section.value}.sign")):
        async def act(uow: UnitOfWork) -> dict:
            by = acting_as(cmd.access, may_sign, f"signing the {section.value} section")
            row = await handlers.sign_section(uow.session, assessment_id, section, by)
            assert row.signed_at is not None  # sign_section signs it
            return {"assessment_id": assessment_id, "section": section.value, "signed": True,
                    "signed_by": row.signed_by, "signed_role": row.signed_role,
                    "signed_at": row.signed_at.isoformat()}
        return await cmd.run(act, body=body, scope=lambda s: assessment_in_scope(s, cmd.access, assessment_id))

    title = section.value.replace("_", " ")
    who = ", ".join(sorted(r.value for r in may_sign))
    router.add_api_route(path, put_section, methods=["PUT"], summary=f"Record the {title} section",
                         description=model.__doc__, responses=COMMAND_ERRORS)
    router.add_api_route(f"{path}/signature", sign, methods=["POST"], summary=f"Sign the {title} section",
                         description=f"Signed by the caller, whose token must have one of the roles: {who} "
                                     "(403 otherwise). Signing again changes nothing. No body is needed.",
                         responses=COMMAND_ERRORS)


for _section, _model in ((Section.CLINICAL_INTERVIEW, ClinicalInterview),
                         (Section.PSYCHIATRIC_MEDICAL, PsychiatricMedical),
                         (Section.SUBSTANCE_USE, SubstanceUse), (Section.PSYCHOSOCIAL, Psychosocial)):
    _section_routes(_section, _model)


def _instrument_route(instrument: Instrument, model: type[BaseModel]) -> None:
    async def score(assessment_id: Id, body: model,  # type: ignore[valid-type]
                    cmd: Command = commands.authorized(Permission.ASSESSMENT_WRITE,
                                                       f"instrument.{instrument.value}.score")):
        async def act(uow: UnitOfWork) -> dict:
            by = acting_as(cmd.access, ADMINISTERING_ROLES, f"administering {instrument.value}")
            scored = await handlers.score_instrument(uow.session, uow.outbox, assessment_id, instrument, body, by)
            result, flag = scored
            return {"assessment_id": assessment_id, "instrument": instrument.value, "total": result.total,
                    "band": result.band, "additional_answer": scored.additional,
                    "administered_by": by.model_dump(),
                    "safety_flag": None if flag is None else {
                        "flag_id": flag.id, "severity": flag.severity, "triggers": flag.triggers,
                        "respond_by": flag.respond_by.isoformat()}}
        return await cmd.run(act, body=body, scope=lambda s: assessment_in_scope(s, cmd.access, assessment_id))

    router.add_api_route(f"/assessments/{{assessment_id}}/instruments/{instrument.value}", score,
                         methods=["POST"], summary=f"Score {instrument.value}",
                         description="Administered by the caller (the token's subject).", responses=COMMAND_ERRORS)


for _instrument, _instrument_model in ((Instrument.PHQ9, Phq9), (Instrument.GAD7, Gad7), (Instrument.AUDIT_C, AuditC),
                                       (Instrument.DAST10, Dast10), (Instrument.CSSRS_SCREENER, CssrsScreener)):
    _instrument_route(_instrument, _instrument_model)


def _outcome(a: Assessment) -> dict:
    return {"assessment_id": a.id, "participant_id": a.participant_id, "episode_id": a.episode_id,
            "kind": a.kind, "status": a.status, "scores": a.scores, "findings": a.findings,
            "dimensions": a.dimensions, "rationale_codes": a.rationale,
            "recommended_level_of_care": a.recommended_level, "rule_level_of_care": a.rule_level,
            "overridden": a.override_reason_code is not None, "admitted_to_iop": a.admitted,
            "safety_flagged": a.safety_flagged,
            "completed_at": a.completed_at.isoformat() if a.completed_at else None}


@router.post("/assessments/{assessment_id}/completion", responses=COMMAND_ERRORS)
async def post_completion(assessment_id: Id, body: CompleteAssessment,
                          cmd: Command = commands.authorized(Permission.ASSESSMENT_WRITE, "assessment.complete")):
    """Complete the assessment once its required sections are signed and its instruments
    scored: the level-of-care decision (a clinician may override it, with a reason).
    Completed by the caller, whose token must have the clinician or psychiatrist role.
    Only level 2.1 goes on to planning; the others are referred out. The goals in the
    participant's words travel in AssessmentCompleted sealed for the participant."""
    async def act(uow: UnitOfWork) -> dict:
        by = acting_as(cmd.access, DECIDING_ROLES, "completing an assessment")
        a, _ = await handlers.complete_assessment(uow.session, uow.outbox, assessment_id, body,
                                                  _keys(cmd.request), by)
        return {**_outcome(a), "completed_by": by.model_dump()}
    return await cmd.run(act, body=body, scope=lambda s: assessment_in_scope(s, cmd.access, assessment_id))


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
