"""The level-of-care recommendation from the six dimension ratings and the safety finding,
with its rationale as codes, and a clinician's override. Pure. Only level 2.1 (IOP) is
admitted; a high-risk participant is never admitted to IOP automatically.

A safety finding comes first, whatever the six dimensions say (services.clinical_safety.triage,
C-SSRS screener triage): imminent risk -> emergency evaluation (level 4, emergency referral);
high risk (C-SSRS Q4 or Q5, or behaviour in the past 3 months; PHQ-9 item 9 of 2-3) ->
same-day evaluation for possible hospitalisation, recommended as level 4 for that evaluation
to decide (not partial hospitalisation). The evaluating clinician records the outcome as an
override with its reason."""

from dataclasses import dataclass

from services.contracts.codes import LevelOfCare, RiskSeverity

from .asam import Dimension
from .safety import SafetyFinding

D1, D2, D3, D4, D5, D6 = Dimension


@dataclass(frozen=True)
class Recommendation:
    level: LevelOfCare
    rationale: tuple[str, ...]

    @property
    def reason_code(self) -> str:
        return self.rationale[0]


@dataclass(frozen=True)
class Decision:
    level: LevelOfCare
    admit_to_iop: bool
    reason_code: str
    rule: Recommendation
    overridden: bool = False


def _at(ratings: dict[Dimension, int], level: int, *dims: Dimension) -> list[str]:
    return [f"{d.value}_{ratings[d]}" for d in dims if ratings[d] >= level]


def recommend(ratings: dict[Dimension, int], safety: SafetyFinding | None) -> Recommendation:
    if safety and safety.severity is RiskSeverity.IMMINENT:
        return Recommendation(LevelOfCare.INPATIENT, ("safety_risk_imminent", "emergency_evaluation",
                                                      "emergency_referral", *_at(ratings, 3, D3)))
    if safety and safety.high_risk:
        return Recommendation(LevelOfCare.INPATIENT, ("safety_risk_high", "same_day_evaluation_for_hospitalisation",
                                                      *_at(ratings, 3, D3)))
    if acute := _at(ratings, 4, D1, D2, D3):
        return Recommendation(LevelOfCare.INPATIENT, ("acute_needs_24h_medical_care", *acute))
    if medical := _at(ratings, 3, D1, D2):
        return Recommendation(LevelOfCare.MEDICALLY_MONITORED, ("needs_medical_monitoring", *medical))
    if ratings[D6] >= 4:
        return Recommendation(LevelOfCare.RESIDENTIAL_HIGH, ("unsafe_recovery_environment", *_at(ratings, 4, D6)))
    if ratings[D6] >= 3 and ratings[D5] >= 3:
        return Recommendation(LevelOfCare.RESIDENTIAL_LOW,
                              ("needs_structured_recovery_environment", *_at(ratings, 3, D5, D6)))
    if ratings[D3] >= 3:
        return Recommendation(LevelOfCare.PARTIAL_HOSPITALISATION, ("needs_daily_structure", *_at(ratings, 3, D3)))
    if max(ratings.values()) <= 1:
        return Recommendation(LevelOfCare.OUTPATIENT, ("below_iop_threshold", "all_dimensions_0_1"))
    return Recommendation(LevelOfCare.INTENSIVE_OUTPATIENT, ("iop_appropriate", *_at(ratings, 2, *Dimension)))


def decide(rule: Recommendation, override: LevelOfCare | None = None,
           override_reason: str | None = None) -> Decision:
    """The rule's recommendation, or a clinician's override of it (with its reason code).
    An override is a clinician's decision: it may admit a high-risk participant to IOP."""
    if override is None or override is rule.level:
        admit = rule.level is LevelOfCare.INTENSIVE_OUTPATIENT
        return Decision(rule.level, admit, rule.reason_code, rule)
    if not override_reason:
        raise ValueError("an override needs a reason")
    return Decision(override, override is LevelOfCare.INTENSIVE_OUTPATIENT,
                    f"clinician_override:{override_reason}", rule, overridden=True)
