"""Safety routing and the level-of-care recommendation. Pure: inputs are scores and
findings, the output is a decision. Simple first rules; the intake issue deepens them."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from services.contracts.codes import Finding, LevelOfCare, RiskSeverity

from .instruments import InstrumentResult

RESPONSE_WINDOW = {RiskSeverity.MODERATE: timedelta(hours=24), RiskSeverity.HIGH: timedelta(hours=1),
                   RiskSeverity.IMMINENT: timedelta(minutes=15)}


@dataclass(frozen=True)
class SafetyFinding:
    severity: RiskSeverity
    triggers: tuple[str, ...]
    respond_by: datetime


@dataclass(frozen=True)
class LevelOfCareDecision:
    level: LevelOfCare
    admit_to_iop: bool
    reason_code: str


def safety_finding(phq9_items: list[int], cssrs_positive: bool, now: datetime) -> SafetyFinding | None:
    item9 = phq9_items[8]
    triggers = tuple(t for t, hit in (("phq9_item9", item9 > 0), ("cssrs_positive", cssrs_positive)) if hit)
    if not triggers:
        return None
    severity = RiskSeverity.HIGH if cssrs_positive or item9 >= 2 else RiskSeverity.MODERATE
    return SafetyFinding(severity, triggers, now + RESPONSE_WINDOW[severity])


def derived_findings(phq9: InstrumentResult, gad7: InstrumentResult, safety: SafetyFinding | None) -> set[Finding]:
    found: set[Finding] = set()
    if phq9.total >= 10:
        found.add(Finding.DEPRESSIVE_SYMPTOMS)
    if gad7.total >= 10:
        found.add(Finding.ANXIETY)
    if safety:
        found.add(Finding.SUICIDAL_IDEATION)
    return found


def recommend_level(phq9: InstrumentResult, gad7: InstrumentResult, findings: set[Finding],
                    safety: SafetyFinding | None) -> LevelOfCareDecision:
    if safety and safety.severity is not RiskSeverity.MODERATE:
        # a high-risk participant is never admitted to IOP automatically
        return LevelOfCareDecision(LevelOfCare.PARTIAL_HOSPITALISATION, False, "safety_risk_high")
    substance = bool(findings & {Finding.ALCOHOL_USE, Finding.DRUG_USE})
    if phq9.total < 5 and gad7.total < 5 and not substance and not findings:
        return LevelOfCareDecision(LevelOfCare.OUTPATIENT, False, "below_iop_threshold")
    return LevelOfCareDecision(LevelOfCare.INTENSIVE_OUTPATIENT, True, "iop_appropriate")
