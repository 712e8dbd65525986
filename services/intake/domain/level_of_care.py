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


# Why an IOP (2.1) recommendation needs a clinician's confirmation before admission, with sources.
CONFIRMATION_RULES: tuple[tuple[str, str], ...] = (
    ("withdrawal_risk_2", "ASAM level 2.1 (public description): minimal risk of severe withdrawal (dimension 1 "
     "at 0-1); a rating of 2 calls for withdrawal management (2-WM or higher), a clinician decides"),
    ("relapse_potential_4", "ASAM: dimension 5 rated at the top (no recognition of the problem, imminent "
     "continued use) is beyond what 2.1 describes; the rule does not pick the higher level, a clinician does"),
    ("single_positive_screen", "SBIRT (SAMHSA TAP 33) / USPSTF: a positive screen (e.g. AUDIT-C, Bush 1998) is "
     "followed by an assessment before treatment; one screen alone, uncorroborated by a clinician's rating or "
     "finding, is not enough for an automatic admission"),
)


class NeedsConfirmation(ValueError):
    """The recommendation may be admitted only with a clinician's confirmation; names why."""

    def __init__(self, rule: "Recommendation"):
        super().__init__("the recommendation needs a clinician's confirmation: " + ", ".join(rule.needs_confirmation))
        self.reasons = rule.needs_confirmation


@dataclass(frozen=True)
class Recommendation:
    level: LevelOfCare
    rationale: tuple[str, ...]
    needs_confirmation: tuple[str, ...] = ()

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
    confirmed: bool = False  # a clinician confirmed a recommendation that needed it


def _at(ratings: dict[Dimension, int], level: int, *dims: Dimension) -> list[str]:
    return [f"{d.value}_{ratings[d]}" for d in dims if ratings[d] >= level]


def confirmations_needed(ratings: dict[Dimension, int], support: dict[Dimension, frozenset[str]] | None
                         ) -> tuple[str, ...]:
    """The CONFIRMATION_RULES that apply to an IOP recommendation (``support``: what each rating
    rests on, from ``asam.dimension_support``; None: treated as clinician-rated)."""
    reasons = []
    if ratings[D1] == 2:
        reasons.append("withdrawal_risk_2")
    if ratings[D5] >= 4:
        reasons.append("relapse_potential_4")
    if support is not None:
        basis = {s for d, r in ratings.items() if r >= 2 for s in support.get(d, frozenset({"clinician"}))}
        if len(basis) == 1 and "clinician" not in basis:
            reasons.append(f"single_positive_screen_{next(iter(basis))}")
    return tuple(reasons)


def recommend(ratings: dict[Dimension, int], safety: SafetyFinding | None,
              support: dict[Dimension, frozenset[str]] | None = None) -> Recommendation:
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
    confirm = confirmations_needed(ratings, support)
    rationale = ("iop_appropriate", *_at(ratings, 2, *Dimension), *(f"needs_confirmation:{c}" for c in confirm))
    return Recommendation(LevelOfCare.INTENSIVE_OUTPATIENT, rationale, confirm)


def decide(rule: Recommendation, override: LevelOfCare | None = None,
           override_reason: str | None = None) -> Decision:
    """The rule's recommendation, or a clinician's override of it (with its reason code).
    An override is a clinician's decision: it may admit a high-risk participant to IOP. A
    recommendation that needs confirmation raises NeedsConfirmation unless the clinician
    confirms it (an 'override' to the same level, with a reason) or chooses another level."""
    if rule.needs_confirmation and override is rule.level:
        if not override_reason:
            raise ValueError("a confirmation needs a reason")
        return Decision(rule.level, rule.level is LevelOfCare.INTENSIVE_OUTPATIENT,
                        f"clinician_confirmed:{override_reason}", rule, confirmed=True)
    if rule.needs_confirmation and override is None:
        raise NeedsConfirmation(rule)
    if override is None or override is rule.level:
        admit = rule.level is LevelOfCare.INTENSIVE_OUTPATIENT
        return Decision(rule.level, admit, rule.reason_code, rule)
    if not override_reason:
        raise ValueError("an override needs a reason")
    return Decision(override, override is LevelOfCare.INTENSIVE_OUTPATIENT,
                    f"clinician_override:{override_reason}", rule, overridden=True)
