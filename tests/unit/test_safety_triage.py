"""The safety triage table (services.clinical_safety.triage) at every boundary: each C-SSRS
question alone, PHQ-9 item 9 of 0/1/2/3, and what a finding does to the level of care."""

from datetime import UTC, datetime, timedelta

import pytest

from services.clinical_safety.screeners import CssrsAnswers, ItemError
from services.clinical_safety.triage import (
    TRIAGE_RULES,
    SafetyFinding,
    combined,
    cssrs_finding,
    phq9_item9_finding,
)
from services.contracts.codes import Instrument, LevelOfCare, RiskSeverity, SafetyDisposition
from services.intake.domain.asam import Dimension
from services.intake.domain.level_of_care import decide, recommend

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ALL_NO = dict(q1=False, q2=False, q3=None, q4=None, q5=None, q6=False, q6_past_3_months=None)
# Q3-Q5 are asked only after a yes to Q2 (the screener's skip logic): "Qn alone" is Q2 + Qn
GATE = dict(q2=True, q3=False, q4=False, q5=False)


def cssrs(**answers) -> CssrsAnswers:
    return CssrsAnswers(**{**ALL_NO, **answers})


@pytest.mark.parametrize("answers, severity, trigger, disposition", [
    (cssrs(), None, None, None),
    (cssrs(q1=True), RiskSeverity.MODERATE, "cssrs_low_risk", SafetyDisposition.BEHAVIOURAL_HEALTH_EVALUATION),
    (cssrs(**GATE), RiskSeverity.MODERATE, "cssrs_low_risk", SafetyDisposition.BEHAVIOURAL_HEALTH_EVALUATION),
    (cssrs(**{**GATE, "q3": True}), RiskSeverity.MODERATE, "cssrs_moderate_risk",
     SafetyDisposition.BEHAVIOURAL_HEALTH_EVALUATION),
    (cssrs(**{**GATE, "q4": True}), RiskSeverity.HIGH, "cssrs_high_risk",
     SafetyDisposition.SAME_DAY_EVALUATION_FOR_HOSPITALISATION),
    (cssrs(**{**GATE, "q5": True}), RiskSeverity.HIGH, "cssrs_high_risk",
     SafetyDisposition.SAME_DAY_EVALUATION_FOR_HOSPITALISATION),
    (cssrs(q6=True, q6_past_3_months=False), RiskSeverity.MODERATE, "cssrs_moderate_risk",
     SafetyDisposition.BEHAVIOURAL_HEALTH_EVALUATION),
    (cssrs(q6=True, q6_past_3_months=True), RiskSeverity.HIGH, "cssrs_high_risk",
     SafetyDisposition.SAME_DAY_EVALUATION_FOR_HOSPITALISATION),
    (cssrs(**{**GATE, "q5": True}, q6=True, q6_past_3_months=True), RiskSeverity.IMMINENT, "cssrs_imminent_risk",
     SafetyDisposition.EMERGENCY_EVALUATION),
    (cssrs(**{**GATE, "q5": True}, q6=True, q6_past_3_months=False), RiskSeverity.HIGH, "cssrs_high_risk",
     SafetyDisposition.SAME_DAY_EVALUATION_FOR_HOSPITALISATION),
])
def test_each_cssrs_question_alone(answers, severity, trigger, disposition):
    f = cssrs_finding(answers, NOW)
    if severity is None:
        assert f is None
        return
    assert (f.severity, f.triggers, f.disposition) == (severity, (trigger,), disposition)


@pytest.mark.parametrize("item9, severity, window", [
    (0, None, None),
    (1, RiskSeverity.MODERATE, timedelta(hours=24)),
    (2, RiskSeverity.HIGH, timedelta(hours=1)),
    (3, RiskSeverity.HIGH, timedelta(hours=1)),
])
def test_phq9_item9_at_each_value(item9, severity, window):
    f = phq9_item9_finding(item9, NOW)
    if severity is None:
        assert f is None
        return
    assert f.severity is severity and f.respond_by == NOW + window and f.triggers == ("phq9_item9",)
    assert f.disposition is not SafetyDisposition.EMERGENCY_EVALUATION, "item 9 asks neither intent nor plan"


@pytest.mark.parametrize("bad", [-1, 4, True, "2"])
def test_item9_out_of_range_names_the_item(bad):
    with pytest.raises(ItemError, match="item 9"):
        phq9_item9_finding(bad, NOW)


def test_skip_logic_is_enforced_and_names_the_question():
    with pytest.raises(ItemError, match="q4"):
        cssrs_finding(cssrs(q2=True, q3=False, q5=False), NOW)
    with pytest.raises(ItemError, match="q6_past_3_months"):
        cssrs_finding(cssrs(q6=True), NOW)


def test_the_scale_shortens_the_response_window_for_demos_only():
    assert phq9_item9_finding(2, NOW, scale=0.5).respond_by == NOW + timedelta(minutes=30)


def test_every_rule_cites_its_source_and_the_table_is_ordered_most_severe_first():
    order = [RiskSeverity.IMMINENT, RiskSeverity.HIGH, RiskSeverity.MODERATE]
    for instrument in (Instrument.CSSRS_SCREENER, Instrument.PHQ9):
        rows = [r for r in TRIAGE_RULES if r.instrument is instrument]
        assert [order.index(r.severity) for r in rows] == sorted(order.index(r.severity) for r in rows)
    for r in TRIAGE_RULES:
        assert r.source.split()[0] in ("CSSRS", "PHQ9", "LOCAL", "NPSG") and r.answers


def test_combined_takes_the_worst_severity_every_trigger_and_the_earliest_deadline():
    f = combined([phq9_item9_finding(1, NOW), cssrs_finding(cssrs(**{**GATE, "q4": True}), NOW), None])
    assert f.severity is RiskSeverity.HIGH and f.triggers == ("phq9_item9", "cssrs_high_risk")
    assert f.respond_by == NOW + timedelta(hours=1)
    assert combined([None]) is None


def _ratings(**high) -> dict[Dimension, int]:
    return {d: high.get(d.name.lower(), 0) for d in Dimension}


@pytest.mark.parametrize("dims", [_ratings(), _ratings(emotional_behavioural=2, recovery_environment=4),
                                  _ratings(biomedical=3, intoxication_withdrawal=3)])
def test_high_risk_is_a_same_day_evaluation_for_hospitalisation_whatever_the_dimensions(dims):
    high = cssrs_finding(cssrs(**{**GATE, "q4": True}), NOW)
    rule = recommend(dims, high)
    assert rule.level is LevelOfCare.INPATIENT and rule.rationale[:2] == (
        "safety_risk_high", "same_day_evaluation_for_hospitalisation")
    assert rule.level is not LevelOfCare.PARTIAL_HOSPITALISATION and not decide(rule).admit_to_iop


@pytest.mark.parametrize("dims", [_ratings(), _ratings(recovery_environment=4)])
def test_imminent_risk_is_an_emergency_evaluation_whatever_the_dimensions(dims):
    imminent = SafetyFinding(RiskSeverity.IMMINENT, ("cssrs_imminent_risk",), NOW)
    rule = recommend(dims, imminent)
    assert rule.level is LevelOfCare.INPATIENT
    assert rule.rationale[:3] == ("safety_risk_imminent", "emergency_evaluation", "emergency_referral")


def test_a_moderate_finding_alone_leaves_the_dimensions_to_decide():
    moderate = phq9_item9_finding(1, NOW)
    assert recommend(_ratings(emotional_behavioural=2), moderate).level is LevelOfCare.INTENSIVE_OUTPATIENT
