"""Intake's request models: unknown fields refused, items named, roles checked."""

import pytest
from pydantic import ValidationError

from deploy.demo_cohort import assessment, reassessment
from services.contracts.codes import AssessmentKind, Instrument
from services.intake import commands as c
from services.intake.domain.sections import Section, StaffRole, WrongRole, check_may_sign, missing_for_completion


def error_of(model, **body) -> dict:
    with pytest.raises(ValidationError) as err:
        model(**body)
    return err.value.errors()[0]


def test_an_out_of_range_item_is_named():
    e = error_of(c.Phq9, items=[0] * 8 + [7])
    assert e["loc"] == ("items",) and "phq9 item 9 must be 0-3" in e["msg"]
    e = error_of(c.AuditC, items=[0, 5, 0], sex="male")
    assert "audit_c item 2" in e["msg"]


def test_a_missing_item_is_refused():
    assert error_of(c.Gad7, items=[0] * 6)["loc"] == ("items",)
    assert error_of(c.Dast10, answers=[True] * 9)["loc"] == ("answers",)
    assert error_of(c.CssrsScreener, q1=True, q6=False)["loc"] == ("q2",)


def test_cssrs_skip_logic_is_named():
    e = error_of(c.CssrsScreener, q1=True, q2=True, q6=False)
    assert "cssrs_screener q3" in e["msg"]


def test_unknown_fields_are_refused():
    e = error_of(c.Phq9, items=[0] * 9, mood="low")
    assert e["type"] == "extra_forbidden" and e["loc"] == ("mood",)


SIGNER = {"staff_id": "staff-psy-2", "role": "psychiatrist"}


@pytest.mark.parametrize(("model", "field", "body"), [
    (c.ClinicalInterview, "signer", assessment(1)["sections"]["clinical_interview"]),
    (c.PsychiatricMedical, "signer", assessment(1)["sections"]["psychiatric_medical"]),
    (c.SubstanceUse, "signer", assessment(1)["sections"]["substance_use"]),
    (c.Psychosocial, "signer", assessment(1)["sections"]["psychosocial"]),
    (c.SignSection, "signer", {}),
    (c.CompleteAssessment, "signer", {}),
    (c.Phq9, "administered_by", {"items": [0] * 9}),
    (c.CssrsScreener, "administered_by", {"q1": False, "q2": False, "q6": False}),
])
def test_a_body_naming_who_acts_is_refused_naming_the_field(model, field, body):
    """Who acts is the caller's token (issue 14): a body that still names a signer is refused."""
    e = error_of(model, **body, **{field: SIGNER})
    assert e["type"] == "extra_forbidden" and e["loc"] == (field,)


def test_step_up_referrals_come_from_aftercare_only():
    body = {"tenant_id": "t", "program_id": "p", "source": "step_up_from_aftercare",
            "participant": {"given_name": "A", "family_name": "B", "date_of_birth": "1990-01-01"}}
    assert "RelapseRiskDetected" in error_of(c.ReceiveReferral, **body)["msg"]


def test_who_may_sign_which_section():
    check_may_sign(Section.PSYCHOSOCIAL, StaffRole.CASE_MANAGER)
    check_may_sign(Section.PSYCHIATRIC_MEDICAL, StaffRole.PSYCHIATRIST)
    with pytest.raises(WrongRole, match="clinician may not sign the psychiatric_medical section"):
        check_may_sign(Section.PSYCHIATRIC_MEDICAL, StaffRole.CLINICIAN)
    with pytest.raises(WrongRole):
        check_may_sign(Section.CLINICAL_INTERVIEW, StaffRole.PEER_SPECIALIST)


def test_what_completion_needs():
    everything = set(Instrument)
    assert missing_for_completion(AssessmentKind.INITIAL, set(Section), everything) == ([], [])
    assert missing_for_completion(AssessmentKind.INITIAL, {Section.CLINICAL_INTERVIEW}, everything)[0] == [
        Section.PSYCHIATRIC_MEDICAL, Section.SUBSTANCE_USE, Section.PSYCHOSOCIAL]
    assert missing_for_completion(AssessmentKind.REASSESSMENT, {Section.CLINICAL_INTERVIEW},
                                  everything - {Instrument.GAD7}) == ([], [Instrument.GAD7])


@pytest.mark.parametrize("body", [assessment(i) for i in range(20)] + [reassessment(3, [1] * 9, [2] * 7)])
def test_the_demo_bodies_are_valid_requests(body):
    models = {"clinical_interview": c.ClinicalInterview, "psychiatric_medical": c.PsychiatricMedical,
              "substance_use": c.SubstanceUse, "psychosocial": c.Psychosocial, "phq9": c.Phq9, "gad7": c.Gad7,
              "audit_c": c.AuditC, "dast10": c.Dast10, "cssrs_screener": c.CssrsScreener}
    for name, part in {**body["sections"], **body["instruments"]}.items():
        models[name](**part)
    c.CompleteAssessment(**body["completion"])
    c.OpenAssessment(kind=body["kind"])
