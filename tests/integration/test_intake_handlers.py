"""Intake's handlers against a real SQLite database: the multi-section assessment, safety
flags written at once, the level-of-care decision and its events in the outbox, in order."""

import json

import pytest
from sqlalchemy import select

from deploy.demo_cohort import assessment, reassessment, referral
from services.contracts.base import Actor
from services.contracts.codes import AssessmentKind, Instrument
from services.contracts.envelope import parse_envelope
from services.contracts.sealed import SealedValue
from services.eventing.database import Database, OutboxMessage
from services.eventing.outbox import Outbox
from services.intake import commands as c
from services.intake import handlers
from services.intake.domain.sections import Section
from services.intake.handlers import Incomplete
from services.intake.tables import IntakeBase
from services.privacy.data_key_store import SqliteDataKeys
from services.privacy.master_key_file import MasterKeyFile
from services.privacy.sealing import goal_field, open_sealed
from services.web.refusals import Conflict, NotPermitted

pytestmark = pytest.mark.integration

SECTION_MODELS = {Section.CLINICAL_INTERVIEW: c.ClinicalInterview, Section.PSYCHIATRIC_MEDICAL: c.PsychiatricMedical,
                  Section.SUBSTANCE_USE: c.SubstanceUse, Section.PSYCHOSOCIAL: c.Psychosocial}
SIGNERS = {Section.CLINICAL_INTERVIEW: Actor(id="kc-clin-7", role="clinician"),
           Section.PSYCHIATRIC_MEDICAL: Actor(id="kc-psy-2", role="psychiatrist"),
           Section.SUBSTANCE_USE: Actor(id="kc-clin-7", role="clinician"),
           Section.PSYCHOSOCIAL: Actor(id="kc-cm-1", role="case_manager")}
"""Who records and signs each section: what the routes hand the handlers (the token's subject and
the role that allowed it; services/intake/actors.py chooses it)."""
CLINICIAN = SIGNERS[Section.CLINICAL_INTERVIEW]
INSTRUMENT_MODELS = {Instrument.PHQ9: c.Phq9, Instrument.GAD7: c.Gad7, Instrument.AUDIT_C: c.AuditC,
                     Instrument.DAST10: c.Dast10, Instrument.CSSRS_SCREENER: c.CssrsScreener}


@pytest.fixture
def keys(tmp_path) -> SqliteDataKeys:
    return SqliteDataKeys(tmp_path / "keys" / "data-keys.db",
                          MasterKeyFile.load(tmp_path / "keys" / "master.key", generate=True))


@pytest.fixture
async def db(sqlite_database) -> Database:
    return await sqlite_database("intake", IntakeBase.metadata)


async def tx(db, fn):
    async with db.transaction() as session:
        return await fn(session, Outbox(session, "intake"))


async def outbox_types(db) -> list[str]:
    async with db.sessions() as s:
        rows = (await s.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()
    return [r.event_type.split(".")[2] for r in rows]


async def outbox_events(db, name: str) -> list[dict]:
    async with db.sessions() as s:
        rows = (await s.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()
    return [parse_envelope(r.value).data for r in rows if r.event_type == f"continuum.intake.{name}.v1"]


async def refer(db, i: int) -> str:
    return (await tx(db, lambda s, o: handlers.receive_referral(s, o, c.ReceiveReferral(**referral(i))))).participant_id


async def run_assessment(db, keys, pid: str, body: dict, *, complete: bool = True, skip_sections=()) -> str:
    kind = AssessmentKind(body["kind"])
    a = await tx(db, lambda s, o: handlers.open_assessment(s, pid, c.OpenAssessment(kind=kind)))
    for name, content in body["sections"].items():
        if name in skip_sections:
            continue
        section = Section(name)
        cmd = SECTION_MODELS[section](**content)
        await tx(db, lambda s, o, section=section, cmd=cmd: handlers.record_section(s, a.id, section, cmd,
                                                                                     SIGNERS[section]))
        await tx(db, lambda s, o, section=section: handlers.sign_section(s, a.id, section, SIGNERS[section]))
    for name, answers in body["instruments"].items():
        instrument = Instrument(name)
        cmd = INSTRUMENT_MODELS[instrument](**answers)
        await tx(db, lambda s, o, instrument=instrument, cmd=cmd: handlers.score_instrument(s, o, a.id, instrument,
                                                                                             cmd, CLINICIAN))
    if complete:
        await tx(db, lambda s, o: handlers.complete_assessment(
            s, o, a.id, c.CompleteAssessment(**body["completion"]), keys, CLINICIAN))
    return a.id


async def test_rescoring_raises_another_flag_only_when_worse(db, keys):
    pid = await refer(db, 2)
    aid = await run_assessment(db, keys, pid, assessment(2), complete=False)
    for q6_recent in (False, False, True):  # moderate, the same again, then high
        cmd = c.CssrsScreener(q1=True, q2=False, q6=True, q6_past_3_months=q6_recent)
        await tx(db, lambda s, o, cmd=cmd: handlers.score_instrument(s, o, aid, Instrument.CSSRS_SCREENER, cmd,
                                                                      CLINICIAN))
    flags = await outbox_events(db, "safety_risk_flagged")
    assert [(f["severity"], f["triggers"]) for f in flags] == [
        ("moderate", ["cssrs_moderate_risk"]), ("high", ["cssrs_high_risk"])]


async def test_a_complete_iop_assessment_emits_one_assessment_completed(db, keys):
    pid = await refer(db, 1)
    aid = await run_assessment(db, keys, pid, assessment(1))
    assert await outbox_types(db) == ["referral_received", "assessment_completed"]
    done = (await outbox_events(db, "assessment_completed"))[0]
    assert done["assessment_id"] == aid and done["admitted_to_iop"] is True
    assert done["recommended_level_of_care"] == "2.1" and done["rationale_codes"][0] == "iop_appropriate"
    assert {s["instrument"] for s in done["scores"]} == {i.value for i in Instrument}
    assert len(done["dimensions"]) == 6 and {s["section"] for s in done["signatures"]} == {s.value for s in Section}
    # each signature names who signed as their token said (the id and role the route handed over)
    assert {(x["section"], x["staff_id"], x["role"]) for x in done["signatures"]} == {
        (sec.value, by.id, by.role) for sec, by in SIGNERS.items()}
    assert all(x["actor"] == {"id": x["staff_id"], "role": x["role"]} for x in done["signatures"])
    assert done["completed_by"] == {"id": CLINICIAN.id, "role": "clinician"}
    assert done["availability"] and done["goal_ids"] == [f"{aid}-goal1", f"{aid}-goal2"]
    words = [g["text"] for g in assessment(1)["sections"]["clinical_interview"]["goals"]]
    assert [g["goal_id"] for g in done["goals"]] == done["goal_ids"]  # the words travel, sealed
    assert [open_sealed(keys, pid, goal_field(g["goal_id"]), SealedValue.model_validate(g["text"]))
            for g in done["goals"]] == words
    assert not any(w in json.dumps(done) for w in words)


async def test_a_high_risk_participant_is_flagged_first_and_not_admitted(db, keys):
    pid = await refer(db, 7)
    await run_assessment(db, keys, pid, assessment(7))
    types = await outbox_types(db)
    assert types == ["referral_received", "safety_risk_flagged", "safety_risk_flagged", "assessment_completed",
                     "referred_out"]
    flags = await outbox_events(db, "safety_risk_flagged")
    assert [f["instrument"] for f in flags] == ["phq9", "cssrs_screener"]
    assert [f["severity"] for f in flags] == ["high", "high"]
    assert flags[1]["triggers"] == ["cssrs_high_risk"] and flags[0]["triggers"] == ["phq9_item9"]
    done = (await outbox_events(db, "assessment_completed"))[0]
    # C-SSRS high risk: same-day evaluation for possible hospitalisation (level 4), not partial hospitalisation
    assert done["admitted_to_iop"] is False and done["recommended_level_of_care"] == "4"
    assert "same_day_evaluation_for_hospitalisation" in done["rationale_codes"]
    assert set(done["safety_flag_ids"]) == {f["flag_id"] for f in flags}
    assert [f["disposition"] for f in flags] == ["same_day_suicide_risk_assessment",
                                                 "same_day_evaluation_for_hospitalisation"]
    out = (await outbox_events(db, "referred_out"))[0]
    assert out["reason_code"] == "safety_risk_high" and out["recommended_level_of_care"] == "4"


async def test_moderate_withdrawal_needs_a_clinicians_confirmation_to_be_admitted(db, keys):
    pid = await refer(db, 3)
    body = assessment(3)
    body["sections"]["substance_use"]["withdrawal_risk"] = "moderate"
    with pytest.raises(Incomplete) as refused:
        await run_assessment(db, keys, pid, body)
    assert refused.value.details["field"] == "override" and str(refused.value).startswith("override:")
    assert refused.value.details["needs_confirmation"] == ["withdrawal_risk_2"]
    assert "assessment_completed" not in await outbox_types(db)
    # the clinician confirms 2.1 with a reason (shown here on a second referral)
    confirm = {"level_of_care": "2.1", "reason_code": "withdrawal_managed_by_prescriber"}
    body["completion"] = {**body["completion"], "override": confirm}
    pid2 = await refer(db, 3)
    await run_assessment(db, keys, pid2, body)
    done = (await outbox_events(db, "assessment_completed"))[0]
    assert done["admitted_to_iop"] and done["override"] is None
    assert done["confirmed_by"] == CLINICIAN.id
    assert done["completed_by"] == {"id": CLINICIAN.id, "role": "clinician"}
    assert "needs_confirmation:withdrawal_risk_2" in done["rationale_codes"]


async def test_a_safety_flag_is_written_before_the_assessment_completes(db, keys):
    pid = await refer(db, 7)
    await run_assessment(db, keys, pid, assessment(7), complete=False)
    assert "safety_risk_flagged" in await outbox_types(db)
    assert "assessment_completed" not in await outbox_types(db)


async def test_completion_without_a_required_section_is_refused_and_names_it(db, keys):
    pid = await refer(db, 2)
    aid = await run_assessment(db, keys, pid, assessment(2), complete=False, skip_sections=("psychosocial",))
    with pytest.raises(Incomplete, match="psychosocial") as refused:
        await tx(db, lambda s, o: handlers.complete_assessment(s, o, aid, c.CompleteAssessment(
            **assessment(2)["completion"]), keys, CLINICIAN))
    assert refused.value.details["missing_sections"] == ["psychosocial"]
    assert await outbox_types(db) == ["referral_received"]


async def test_a_section_signed_by_the_wrong_role_is_refused(db, keys):
    pid = await refer(db, 3)
    aid = await run_assessment(db, keys, pid, assessment(3), complete=False,
                               skip_sections=tuple(s.value for s in Section))
    body = c.Psychosocial(**assessment(3)["sections"]["psychosocial"])
    with pytest.raises(NotPermitted, match=r"clinician may not sign the psychosocial section.*case_manager"):
        await tx(db, lambda s, o: handlers.record_section(s, aid, Section.PSYCHOSOCIAL, body, CLINICIAN))
    # the psychiatric/medical section needs a psychiatrist: a clinician's or case manager's token may not
    medical = c.PsychiatricMedical(**assessment(3)["sections"]["psychiatric_medical"])
    for by in (CLINICIAN, SIGNERS[Section.PSYCHOSOCIAL], Actor(id="kc-sched-1", role="scheduler")):
        with pytest.raises(NotPermitted, match="may not sign the psychiatric_medical section"):
            await tx(db, lambda s, o, by=by: handlers.record_section(s, aid, Section.PSYCHIATRIC_MEDICAL, medical, by))
    await tx(db, lambda s, o: handlers.record_section(s, aid, Section.PSYCHIATRIC_MEDICAL, medical,
                                                     SIGNERS[Section.PSYCHIATRIC_MEDICAL]))
    with pytest.raises(NotPermitted):
        await tx(db, lambda s, o: handlers.sign_section(s, aid, Section.PSYCHIATRIC_MEDICAL, CLINICIAN))


async def test_only_a_clinician_or_psychiatrist_completes(db, keys):
    pid = await refer(db, 2)
    aid = await run_assessment(db, keys, pid, assessment(2), complete=False)
    with pytest.raises(NotPermitted, match="case_manager may not complete"):
        await tx(db, lambda s, o: handlers.complete_assessment(s, o, aid, c.CompleteAssessment(), keys,
                                                                SIGNERS[Section.PSYCHOSOCIAL]))
    assert "assessment_completed" not in await outbox_types(db)


async def test_a_clinician_override_is_recorded_with_its_reason(db, keys):
    pid = await refer(db, 9)
    body = assessment(9)
    body["completion"] = {**body["completion"],
                          "override": {"level_of_care": "2.1", "reason_code": "clinical_judgement",
                                       "note": "synthetic"}}
    await run_assessment(db, keys, pid, body)
    done = (await outbox_events(db, "assessment_completed"))[0]
    assert done["recommended_level_of_care"] == "2.1" and done["admitted_to_iop"] is True
    assert done["override"] == {"rule_level_of_care": "1", "reason_code": "clinical_judgement",
                                "overridden_by": CLINICIAN.id}
    assert "synthetic" not in json.dumps(done), "the override note stays in intake"


async def test_a_reassessment_links_to_the_episode_and_carries_the_other_sections(db, keys):
    pid = await refer(db, 5)
    await run_assessment(db, keys, pid, assessment(5))
    await run_assessment(db, keys, pid, reassessment(5, [1] * 8 + [0], [1] * 7))
    initial, again = await outbox_events(db, "assessment_completed")
    assert again["kind"] == "reassessment" and again["episode_id"] == initial["episode_id"]
    assert next(s for s in again["scores"] if s["instrument"] == "phq9")["total"] == 8
    assert again["availability"] == initial["availability"]
    assert "referred_out" not in await outbox_types(db)
    with pytest.raises(Conflict, match="already completed"):
        await tx(db, lambda s, o: handlers.complete_assessment(s, o, again["assessment_id"], c.CompleteAssessment(
            **assessment(5)["completion"]), keys, CLINICIAN))


async def test_an_initial_assessment_needs_a_referral_awaiting_one(db, keys):
    pid = await refer(db, 6)
    await run_assessment(db, keys, pid, assessment(6))
    with pytest.raises(Conflict, match="no referral awaiting assessment"):
        await tx(db, lambda s, o: handlers.open_assessment(s, pid, c.OpenAssessment(kind="initial")))


async def test_intake_owns_its_flags_the_sweep_escalates_and_a_clinician_resolves(db, keys):
    from datetime import timedelta

    from services.clinical_safety import recording
    from services.clinical_safety.settings import SafetySettings
    from services.contracts.base import Actor
    from services.contracts.codes import SafetyAction
    from services.intake.safety_flags import EVENTS
    from services.intake.tables import SafetyFlag

    pid = await refer(db, 7)
    await run_assessment(db, keys, pid, assessment(7), complete=False)
    flags = await outbox_events(db, "safety_risk_flagged")
    first = flags[0]
    assert first["source"] == "assessment" and first["disposition"] == "same_day_suicide_risk_assessment"
    ladder = SafetySettings().ladder()
    async with db.sessions() as s:
        row = await s.get(SafetyFlag, first["flag_id"])
    assert (row.participant_id, row.status, row.escalation_level) == (pid, "open", 0)
    late = row.respond_by + timedelta(minutes=45)  # on-call at respond_by, supervisor 30 min later
    n = await tx(db, lambda s, o: recording.escalate_overdue(s, o, SafetyFlag, late, ladder, EVENTS))
    assert n == 4, "two flags, two levels each"
    escalated = await outbox_events(db, "safety_flag_escalated")
    assert {(e["flag_id"], e["escalation_level"], e["escalated_to"]) for e in escalated} == {
        (f["flag_id"], level, role) for f in flags
        for level, role in ((1, "on_call_clinician"), (2, "clinical_supervisor"))}

    async def respond(s, o):
        flag = await s.get(SafetyFlag, first["flag_id"])
        recording.resolve(o, flag, SafetyAction.SAME_DAY_EVALUATION, Actor(id="staff-psy-3", role="psychiatrist"),
                          late, EVENTS)
    await tx(db, respond)
    acked = await outbox_events(db, "safety_flag_acknowledged")
    resolved = await outbox_events(db, "safety_flag_resolved")
    assert [a["acknowledged_by"] for a in acked] == ["staff-psy-3"]
    assert [r["actor"] for r in resolved] == [{"id": "staff-psy-3", "role": "psychiatrist"}]
    assert [(r["flag_id"], r["action_taken"]) for r in resolved] == [(first["flag_id"], "same_day_evaluation")]
    even_later = late + timedelta(days=1)
    n = await tx(db, lambda s, o: recording.escalate_overdue(s, o, SafetyFlag, even_later, ladder, EVENTS))
    assert n == 1, "only the unanswered flag reaches the director"


async def test_an_instrument_answered_after_completion_is_kept_and_flagged_never_refused(db, keys):
    from services.intake.tables import AdditionalInstrumentAnswer

    pid = await refer(db, 1)
    aid = await run_assessment(db, keys, pid, assessment(1))
    late = c.Phq9(items=[1] * 8 + [3])
    scored = await tx(db, lambda s, o: handlers.score_instrument(s, o, aid, Instrument.PHQ9, late, CLINICIAN))
    assert scored.additional and scored.flag is not None and scored.flag.severity == "high"
    flags = await outbox_events(db, "safety_risk_flagged")
    assert [(f["assessment_id"], f["severity"], f["triggers"]) for f in flags] == [(aid, "high", ["phq9_item9"])]
    assert len(await outbox_events(db, "assessment_completed")) == 1, "the decision stands"
    calm = c.Phq9(items=[0] * 9)
    again = await tx(db, lambda s, o: handlers.score_instrument(s, o, aid, Instrument.PHQ9, calm, CLINICIAN))
    assert again.additional and again.flag is None
    async with db.sessions() as s:
        kept = (await s.scalars(select(AdditionalInstrumentAnswer).order_by(AdditionalInstrumentAnswer.id))).all()
    assert [(k.total, k.safety_flag_id) for k in kept] == [(11, scored.flag.id), (0, None)]
