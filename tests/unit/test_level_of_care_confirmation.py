"""Which IOP recommendations a clinician must confirm before admission (CONFIRMATION_RULES):
withdrawal rated 2, relapse potential rated 4, and a single uncorroborated positive screen."""

import pytest

from services.contracts.codes import AsamDimension as D
from services.contracts.codes import Instrument, LevelOfCare
from services.intake.domain import asam
from services.intake.domain.instruments import Sex, score_audit_c, score_dast10, score_gad7, score_phq9
from services.intake.domain.level_of_care import (
    CONFIRMATION_RULES,
    NeedsConfirmation,
    decide,
    recommend,
)

NO_DRUGS = (False, False, True) + (False,) * 7


def inputs(phq9=(0,) * 9, gad7=(0,) * 7, audit=(0, 0, 0), dast=NO_DRUGS, **codes) -> asam.AsamInputs:
    scores = {Instrument.PHQ9: score_phq9(list(phq9)), Instrument.GAD7: score_gad7(list(gad7)),
              Instrument.AUDIT_C: score_audit_c(list(audit), Sex.MALE), Instrument.DAST10: score_dast10(list(dast))}
    return asam.AsamInputs(
        withdrawal=codes.get("withdrawal", asam.WithdrawalRisk.NONE),
        medical=asam.MedicalStability.NO_CONCERNS,
        psychiatric=codes.get("psychiatric", asam.PsychiatricStability.STABLE),
        readiness=codes.get("readiness", asam.ReadinessToChange.ACTION),
        environment=asam.RecoveryEnvironment.SUPPORTIVE, scores=scores, safety=None)


def rule_for(a: asam.AsamInputs, findings=()):
    return recommend(asam.rate_dimensions(a), None, asam.dimension_support(a, set(findings)))


MODERATE_PSYCH = {"psychiatric": asam.PsychiatricStability.MODERATE}  # a psychiatrist's rating of 2


@pytest.mark.parametrize("withdrawal, rating, confirm", [
    (asam.WithdrawalRisk.MILD, 1, False), (asam.WithdrawalRisk.MODERATE, 2, True)])
def test_withdrawal_rated_2_is_not_admitted_to_iop_automatically(withdrawal, rating, confirm):
    a = inputs(withdrawal=withdrawal, **MODERATE_PSYCH)
    assert asam.rate_dimensions(a)[D.INTOXICATION_WITHDRAWAL] == rating
    rule = rule_for(a)
    assert rule.level is LevelOfCare.INTENSIVE_OUTPATIENT
    assert ("withdrawal_risk_2" in rule.needs_confirmation) is confirm
    if confirm:
        assert "needs_confirmation:withdrawal_risk_2" in rule.rationale
        with pytest.raises(NeedsConfirmation):
            decide(rule)
    else:
        assert decide(rule).admit_to_iop


def test_withdrawal_rated_3_still_goes_to_medical_monitoring():
    rule = rule_for(inputs(withdrawal=asam.WithdrawalRisk.SEVERE))
    assert rule.level is LevelOfCare.MEDICALLY_MONITORED and not rule.needs_confirmation


@pytest.mark.parametrize("dast, rating, confirm", [
    ([True] * 8 + [False, False], 3, False),   # DAST 7: substantial -> 3
    ([True, True, False] + [True] * 7, 4, True),   # DAST 10: severe -> 4
])
def test_the_top_relapse_potential_rating_is_not_ignored(dast, rating, confirm):
    a = inputs(dast=dast, **MODERATE_PSYCH)
    assert asam.rate_dimensions(a)[D.RELAPSE_POTENTIAL] == rating
    rule = rule_for(a)
    assert rule.level is LevelOfCare.INTENSIVE_OUTPATIENT
    assert ("relapse_potential_4" in rule.needs_confirmation) is confirm


def test_a_single_positive_audit_c_alone_needs_a_clinician():
    rule = rule_for(inputs(audit=(2, 1, 1)))   # AUDIT-C 4, positive for a man: relapse potential 2, nothing else
    assert rule.level is LevelOfCare.INTENSIVE_OUTPATIENT
    assert rule.needs_confirmation == ("single_positive_screen_audit_c",)
    with pytest.raises(NeedsConfirmation) as exc:
        decide(rule)
    assert exc.value.reasons == ("single_positive_screen_audit_c",)


@pytest.mark.parametrize("case, kwargs, findings", [
    ("the clinician found alcohol use", {"audit": (2, 1, 1)}, ("alcohol_use",)),
    ("a psychiatrist's rating too", {"audit": (2, 1, 1), **MODERATE_PSYCH}, ()),
    ("two screens", {"audit": (2, 1, 1), "phq9": (2,) * 5 + (0,) * 4}, ()),
    ("a clinician-rated dimension", {"audit": (2, 1, 1), "readiness": asam.ReadinessToChange.CONTEMPLATION}, ()),
])
def test_a_corroborated_screen_is_admitted_automatically(case, kwargs, findings):
    rule = rule_for(inputs(**kwargs), findings)
    assert rule.level is LevelOfCare.INTENSIVE_OUTPATIENT and not rule.needs_confirmation, case
    assert decide(rule).admit_to_iop


def test_a_phq9_alone_is_a_single_screen_too():
    rule = rule_for(inputs(phq9=(2,) * 5 + (0,) * 4))   # PHQ-9 10, moderate: emotional/behavioural 2
    assert rule.needs_confirmation == ("single_positive_screen_phq9",)


def test_a_clinician_confirms_with_a_reason_or_chooses_another_level():
    rule = rule_for(inputs(audit=(2, 1, 1)))
    confirmed = decide(rule, LevelOfCare.INTENSIVE_OUTPATIENT, "assessed_alcohol_use_disorder")
    assert confirmed.admit_to_iop and confirmed.confirmed and not confirmed.overridden
    assert confirmed.reason_code == "clinician_confirmed:assessed_alcohol_use_disorder"
    with pytest.raises(ValueError, match="reason"):
        decide(rule, LevelOfCare.INTENSIVE_OUTPATIENT, "")
    elsewhere = decide(rule, LevelOfCare.OUTPATIENT, "below_iop_on_assessment")
    assert elsewhere.overridden and not elsewhere.admit_to_iop


def test_every_confirmation_rule_cites_its_source():
    assert {code for code, _ in CONFIRMATION_RULES} == {
        "withdrawal_risk_2", "relapse_potential_4", "single_positive_screen"}
    assert all(len(source) > 40 for _, source in CONFIRMATION_RULES)
