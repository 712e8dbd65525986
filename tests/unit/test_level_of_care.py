from datetime import UTC, datetime, timedelta

from services.contracts.codes import Finding, LevelOfCare, RiskSeverity
from services.intake.domain.decision import derived_findings, recommend_level, safety_finding
from services.intake.domain.instruments import score_gad7, score_phq9

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def decide(phq9, gad7, cssrs=False, findings=()):
    p, g = score_phq9(phq9), score_gad7(gad7)
    safety = safety_finding(phq9, cssrs, NOW)
    return recommend_level(p, g, set(findings) | derived_findings(p, g, safety), safety), safety


def test_moderate_depression_is_admitted_to_iop():
    decision, safety = decide([2] * 8 + [0], [1] * 7)
    assert decision.level is LevelOfCare.INTENSIVE_OUTPATIENT and decision.admit_to_iop
    assert safety is None


def test_item9_is_a_safety_finding_with_a_deadline():
    _, safety = decide([1] * 8 + [1], [0] * 7)
    assert safety.severity is RiskSeverity.MODERATE
    assert safety.triggers == ("phq9_item9",)
    assert safety.respond_by == NOW + timedelta(hours=24)


def test_high_risk_is_never_admitted_automatically():
    decision, safety = decide([2] * 8 + [2], [2] * 7, cssrs=True)
    assert safety.severity is RiskSeverity.HIGH
    assert not decision.admit_to_iop
    assert decision.level is LevelOfCare.PARTIAL_HOSPITALISATION


def test_below_threshold_is_referred_to_outpatient():
    decision, _ = decide([0, 1, 0, 1, 0, 0, 1, 0, 0], [0, 1, 0, 0, 1, 0, 0])
    assert decision.level is LevelOfCare.OUTPATIENT and not decision.admit_to_iop


def test_substance_use_alone_is_iop_appropriate():
    decision, _ = decide([0] * 9, [0] * 7, findings=[Finding.ALCOHOL_USE])
    assert decision.admit_to_iop
