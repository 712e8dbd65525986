"""Safety routing, the six dimension ratings and the level-of-care rules."""

from datetime import UTC, datetime, timedelta

import pytest

from services.contracts.codes import AsamDimension as D
from services.contracts.codes import Instrument, LevelOfCare, RiskSeverity
from services.intake.domain import asam
from services.intake.domain.findings import derived_findings
from services.intake.domain.instruments import CssrsAnswers, Sex, score_audit_c, score_dast10, score_gad7, score_phq9
from services.intake.domain.level_of_care import decide, recommend
from services.intake.domain.safety import combined, cssrs_safety, phq9_safety

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
NO_CSSRS = CssrsAnswers(False, False, None, None, None, False, None)


def ratings(**over: int) -> dict[D, int]:
    base = dict.fromkeys(D, 0)
    base.update({D[k.upper()]: v for k, v in over.items()})
    return base


def test_phq9_item9_is_a_safety_finding_with_a_deadline():
    f = phq9_safety([1] * 8 + [1], NOW)
    assert (f.severity, f.triggers, f.respond_by) == (RiskSeverity.MODERATE, ("phq9_item9",), NOW + timedelta(hours=24))
    assert phq9_safety([1] * 8 + [2], NOW).severity is RiskSeverity.HIGH
    assert phq9_safety([3] * 8 + [0], NOW) is None


@pytest.mark.parametrize("answers,severity,trigger", [
    (CssrsAnswers(True, False, None, None, None, False, None), RiskSeverity.MODERATE, "cssrs_low_risk"),
    (CssrsAnswers(True, True, True, False, False, False, None), RiskSeverity.MODERATE, "cssrs_moderate_risk"),
    (CssrsAnswers(True, True, True, True, False, False, None), RiskSeverity.HIGH, "cssrs_high_risk"),
    (CssrsAnswers(True, True, True, True, True, True, True), RiskSeverity.IMMINENT, "cssrs_imminent_risk"),
])
def test_a_positive_cssrs_is_a_safety_finding(answers, severity, trigger):
    f = cssrs_safety(answers, NOW)
    assert (f.severity, f.triggers) == (severity, (trigger,))
    assert cssrs_safety(NO_CSSRS, NOW) is None


def test_combined_safety_takes_the_worst_and_every_trigger():
    f = combined([phq9_safety([0] * 8 + [1], NOW),
                  cssrs_safety(CssrsAnswers(True, True, False, True, False, False, None), NOW)])
    assert f.severity is RiskSeverity.HIGH and f.triggers == ("phq9_item9", "cssrs_high_risk")
    assert f.respond_by == NOW + timedelta(hours=1)
    assert combined([]) is None


def inputs(phq9=(0,) * 9, gad7=(0,) * 7, audit=(0, 0, 0), dast=(False, False, True) + (False,) * 7, safety=None,
           **codes) -> asam.AsamInputs:
    scores = {Instrument.PHQ9: score_phq9(list(phq9)), Instrument.GAD7: score_gad7(list(gad7)),
              Instrument.AUDIT_C: score_audit_c(list(audit), Sex.MALE), Instrument.DAST10: score_dast10(list(dast))}
    return asam.AsamInputs(
        withdrawal=codes.get("withdrawal", asam.WithdrawalRisk.NONE),
        medical=codes.get("medical", asam.MedicalStability.NO_CONCERNS),
        psychiatric=codes.get("psychiatric", asam.PsychiatricStability.STABLE),
        readiness=codes.get("readiness", asam.ReadinessToChange.ACTION),
        environment=codes.get("environment", asam.RecoveryEnvironment.SUPPORTIVE),
        scores=scores, safety=safety, stepped_back_up=codes.get("stepped_back_up", False))


def test_dimensions_are_rated_from_the_coded_answers_and_scores():
    r = asam.rate_dimensions(inputs(phq9=[2] * 8 + [0], audit=[4, 4, 0], dast=[True] * 10,
                                    withdrawal=asam.WithdrawalRisk.SEVERE, medical=asam.MedicalStability.STABLE_CHRONIC,
                                    readiness=asam.ReadinessToChange.PRECONTEMPLATION,
                                    environment=asam.RecoveryEnvironment.UNSAFE))
    assert r == {D.INTOXICATION_WITHDRAWAL: 3, D.BIOMEDICAL: 1, D.EMOTIONAL_BEHAVIOURAL: 2,
                 D.READINESS_TO_CHANGE: 3, D.RELAPSE_POTENTIAL: 4, D.RECOVERY_ENVIRONMENT: 4}
    assert all(0 <= v <= 4 for v in r.values())


def test_a_step_back_up_raises_relapse_potential():
    assert asam.rate_dimensions(inputs(stepped_back_up=True))[D.RELAPSE_POTENTIAL] == 2


def test_safety_raises_emotional_behavioural():
    high = cssrs_safety(CssrsAnswers(True, True, True, True, False, False, None), NOW)
    assert asam.rate_dimensions(inputs(safety=high))[D.EMOTIONAL_BEHAVIOURAL] == 3


@pytest.mark.parametrize("r,level,reason", [
    (ratings(), LevelOfCare.OUTPATIENT, "below_iop_threshold"),
    (ratings(emotional_behavioural=1, readiness_to_change=1), LevelOfCare.OUTPATIENT, "below_iop_threshold"),
    (ratings(emotional_behavioural=2), LevelOfCare.INTENSIVE_OUTPATIENT, "iop_appropriate"),
    (ratings(relapse_potential=3, recovery_environment=2), LevelOfCare.INTENSIVE_OUTPATIENT, "iop_appropriate"),
    (ratings(emotional_behavioural=3), LevelOfCare.PARTIAL_HOSPITALISATION, "needs_daily_structure"),
    (ratings(relapse_potential=3, recovery_environment=3), LevelOfCare.RESIDENTIAL_LOW,
     "needs_structured_recovery_environment"),
    (ratings(recovery_environment=4), LevelOfCare.RESIDENTIAL_HIGH, "unsafe_recovery_environment"),
    (ratings(intoxication_withdrawal=3), LevelOfCare.MEDICALLY_MONITORED, "needs_medical_monitoring"),
    (ratings(biomedical=3), LevelOfCare.MEDICALLY_MONITORED, "needs_medical_monitoring"),
    (ratings(biomedical=4), LevelOfCare.INPATIENT, "acute_needs_24h_medical_care"),
])
def test_level_of_care_rules(r, level, reason):
    rec = recommend(r, None)
    assert (rec.level, rec.reason_code) == (level, reason)
    assert all(isinstance(code, str) for code in rec.rationale)


def test_iop_rationale_names_the_dimensions_behind_it():
    assert recommend(ratings(emotional_behavioural=2, readiness_to_change=2), None).rationale == (
        "iop_appropriate", "d3_emotional_behavioural_2", "d4_readiness_to_change_2")


def test_high_risk_is_recommended_higher_care_and_never_admitted_automatically():
    high = cssrs_safety(CssrsAnswers(True, True, True, True, False, False, None), NOW)
    rule = recommend(ratings(emotional_behavioural=3), high)
    assert rule.level is LevelOfCare.INPATIENT and rule.reason_code == "safety_risk_high"
    assert "same_day_evaluation_for_hospitalisation" in rule.rationale
    assert not decide(rule).admit_to_iop
    imminent = cssrs_safety(CssrsAnswers(True, True, True, True, True, True, True), NOW)
    assert recommend(ratings(emotional_behavioural=4), imminent).level is LevelOfCare.INPATIENT


def test_moderate_safety_risk_alone_stays_in_iop():
    moderate = phq9_safety([2] * 8 + [1], NOW)
    rule = recommend(ratings(emotional_behavioural=2), moderate)
    assert decide(rule).admit_to_iop


def test_only_iop_is_admitted_and_an_override_is_recorded():
    rule = recommend(ratings(), None)
    assert not decide(rule).admit_to_iop
    over = decide(rule, LevelOfCare.INTENSIVE_OUTPATIENT, "clinical_judgement")
    assert over.overridden and over.admit_to_iop and over.reason_code == "clinician_override:clinical_judgement"
    assert over.rule is rule
    assert not decide(rule, LevelOfCare.OUTPATIENT, "same").overridden, "overriding to the same level is no override"
    with pytest.raises(ValueError, match="reason"):
        decide(rule, LevelOfCare.PARTIAL_HOSPITALISATION, "")


def test_findings_are_derived_from_the_scores():
    scores = {Instrument.PHQ9: score_phq9([2] * 5 + [0] * 4), Instrument.GAD7: score_gad7([1] * 7),
              Instrument.AUDIT_C: score_audit_c([1, 1, 1], Sex.FEMALE), Instrument.DAST10: score_dast10([False] * 10)}
    assert {f.value for f in derived_findings(scores, None, 2)} == {
        "depressive_symptoms", "alcohol_use", "low_social_support"}
