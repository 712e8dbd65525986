"""Safety routing: which instrument answers are a safety finding, how severe, and how
soon a clinician must respond. Pure."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from services.contracts.codes import RiskSeverity

from .instruments import CssrsAnswers, CssrsRisk, cssrs_risk, phq9_item9_positive

RESPONSE_WINDOW = {RiskSeverity.MODERATE: timedelta(hours=24), RiskSeverity.HIGH: timedelta(hours=1),
                   RiskSeverity.IMMINENT: timedelta(minutes=15)}
_ORDER = (RiskSeverity.MODERATE, RiskSeverity.HIGH, RiskSeverity.IMMINENT)


@dataclass(frozen=True)
class SafetyFinding:
    severity: RiskSeverity
    triggers: tuple[str, ...]
    respond_by: datetime

    @property
    def high_risk(self) -> bool:
        """High or imminent: never admitted to IOP automatically."""
        return self.severity is not RiskSeverity.MODERATE


def more_severe(a: RiskSeverity, b: RiskSeverity) -> bool:
    return _ORDER.index(a) > _ORDER.index(b)


def _finding(severity: RiskSeverity, triggers: tuple[str, ...], now: datetime) -> SafetyFinding:
    return SafetyFinding(severity, triggers, now + RESPONSE_WINDOW[severity])


def phq9_safety(items: list[int], now: datetime) -> SafetyFinding | None:
    """PHQ-9 item 9 above 0: moderate on 'several days', high when more often."""
    if not phq9_item9_positive(items):
        return None
    return _finding(RiskSeverity.HIGH if items[8] >= 2 else RiskSeverity.MODERATE, ("phq9_item9",), now)


def cssrs_safety(answers: CssrsAnswers, now: datetime) -> SafetyFinding | None:
    """A positive C-SSRS screen: low or moderate triage -> moderate severity; high triage ->
    high; a plan with intent (Q5) together with recent behaviour -> imminent."""
    risk = cssrs_risk(answers)
    if risk is CssrsRisk.NONE:
        return None
    if risk is CssrsRisk.HIGH:
        imminent = answers.q5 and answers.q6 and answers.q6_past_3_months
        severity = RiskSeverity.IMMINENT if imminent else RiskSeverity.HIGH
    else:
        severity = RiskSeverity.MODERATE
    return _finding(severity, (f"cssrs_{risk.value}_risk",), now)


def combined(findings: list[SafetyFinding]) -> SafetyFinding | None:
    """The most severe of an assessment's safety findings, with every trigger."""
    if not findings:
        return None
    worst = max(findings, key=lambda f: _ORDER.index(f.severity))
    triggers = tuple(dict.fromkeys(t for f in findings for t in f.triggers))
    return SafetyFinding(worst.severity, triggers, min(f.respond_by for f in findings))
