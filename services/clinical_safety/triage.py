"""Safety triage: which screener answers are a safety finding, how severe, what they call for
and how soon a clinician must respond. Every rule is one row of ``TRIAGE_RULES`` with its
source; the rows of an instrument are tried in order (most severe first), the first match
wins. Pure.

Sources, cited by key in the table:
- CSSRS: Columbia Lighthouse Project, "C-SSRS Screener - Recent, with triage points"
  (Posner et al., Am J Psychiatry 2011;168:1266; cssrs.columbia.edu). Yes to Q4 or Q5, or
  suicidal behaviour in the past 3 months: high risk, immediate/same-day evaluation by a
  behavioural-health professional for possible hospitalisation and safety precautions;
  Q3, or behaviour longer ago: moderate risk, behavioural-health evaluation and safety
  precautions; Q1/Q2 only: low risk, behavioural-health referral.
- PHQ9: Kroenke, Spitzer & Williams 2001 (item 9 wording: thoughts that you would be
  better off dead or of hurting yourself, 0 not at all .. 3 nearly every day); Simon et
  al., Psychiatr Serv 2013;64:1195 (risk of attempt and death rises with the frequency
  reported on item 9). Item 9 asks neither intent nor plan: a positive answer calls for a
  suicide risk assessment (e.g. the C-SSRS), never a level of care on its own.
- NPSG: The Joint Commission, NPSG 15.01.01 (EP 2-6): screen with a validated tool, assess
  positive screens with an evidence-based process, follow written procedures for the
  response, counsel and follow up at discharge.
- LOCAL: this program's policy, stated here because no instrument defines it: response
  windows (how soon a named clinician must acknowledge), the 'imminent' combination, and
  raising the screener's low-risk triage as a moderate flag (conservative)."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from services.contracts.codes import Instrument, RiskSeverity
from services.contracts.codes import SafetyDisposition as Do

from .screeners import CssrsAnswers, check_cssrs, check_phq9_item9

IMMINENT, HIGH, MODERATE = RiskSeverity.IMMINENT, RiskSeverity.HIGH, RiskSeverity.MODERATE

# LOCAL: how soon a clinician must acknowledge a flag of each severity (the escalation clock)
RESPONSE_WINDOW = {MODERATE: timedelta(hours=24), HIGH: timedelta(hours=1), IMMINENT: timedelta(minutes=15)}
_ORDER = (MODERATE, HIGH, IMMINENT)


@dataclass(frozen=True)
class TriageRule:
    instrument: Instrument
    trigger: str                   # the code events carry (SafetyRiskFlagged.triggers)
    answers: str                   # the answer pattern, in words
    matches: Callable[[Any], bool]  # the instrument's answers: CssrsAnswers, or PHQ-9's item 9 (an int)
    severity: RiskSeverity
    disposition: Do
    source: str

    @property
    def respond_within(self) -> timedelta:
        return RESPONSE_WINDOW[self.severity]


def _recent_behaviour(a: CssrsAnswers) -> bool:
    return bool(a.q6 and a.q6_past_3_months)


TRIAGE_RULES: tuple[TriageRule, ...] = (
    TriageRule(Instrument.CSSRS_SCREENER, "cssrs_imminent_risk",
               "Q5 (plan with intent) yes AND suicidal behaviour within the past 3 months",
               lambda a: bool(a.q5) and _recent_behaviour(a), IMMINENT, Do.EMERGENCY_EVALUATION,
               "LOCAL on top of CSSRS high risk: emergency evaluation (level 4 / emergency referral) now, "
               "whatever the other dimensions say"),
    TriageRule(Instrument.CSSRS_SCREENER, "cssrs_high_risk",
               "Q4 (intent) yes, or Q5 (plan with intent) yes, or suicidal behaviour within the past 3 months",
               lambda a: bool(a.q4 or a.q5) or _recent_behaviour(a), HIGH,
               Do.SAME_DAY_EVALUATION_FOR_HOSPITALISATION,
               "CSSRS high risk: same-day evaluation for possible hospitalisation, safety precautions"),
    TriageRule(Instrument.CSSRS_SCREENER, "cssrs_moderate_risk",
               "Q3 (method) yes, or suicidal behaviour more than 3 months ago",
               lambda a: bool(a.q3 or a.q6), MODERATE, Do.BEHAVIOURAL_HEALTH_EVALUATION,
               "CSSRS moderate risk: behavioural-health evaluation, consider safety precautions"),
    TriageRule(Instrument.CSSRS_SCREENER, "cssrs_low_risk",
               "Q1 (wish to be dead) or Q2 (suicidal thoughts) yes only",
               lambda a: bool(a.q1 or a.q2), MODERATE, Do.BEHAVIOURAL_HEALTH_EVALUATION,
               "CSSRS low risk (behavioural-health referral), raised as a moderate flag: LOCAL"),
    TriageRule(Instrument.PHQ9, "phq9_item9",
               "item 9 = 2 (more than half the days) or 3 (nearly every day)",
               lambda item9: item9 >= 2, HIGH, Do.SAME_DAY_SUICIDE_RISK_ASSESSMENT,
               "PHQ9 (risk rises with frequency, Simon 2013) + NPSG: same-day suicide risk assessment"),
    TriageRule(Instrument.PHQ9, "phq9_item9",
               "item 9 = 1 (several days)",
               lambda item9: item9 == 1, MODERATE, Do.SUICIDE_RISK_ASSESSMENT,
               "PHQ9 + NPSG: suicide risk assessment (e.g. C-SSRS) within the moderate window"),
)


@dataclass(frozen=True)
class SafetyFinding:
    severity: RiskSeverity
    triggers: tuple[str, ...]
    respond_by: datetime
    disposition: Do | None = None

    @property
    def high_risk(self) -> bool:
        """High or imminent: never admitted to IOP automatically."""
        return self.severity is not MODERATE


def more_severe(a: RiskSeverity, b: RiskSeverity) -> bool:
    return _ORDER.index(a) > _ORDER.index(b)


def _triage(instrument: Instrument, answers: object, now: datetime,
            scale: float = 1.0) -> SafetyFinding | None:
    rule = next((r for r in TRIAGE_RULES if r.instrument is instrument and r.matches(answers)), None)
    if rule is None:
        return None
    return SafetyFinding(rule.severity, (rule.trigger,), now + rule.respond_within * scale, rule.disposition)


def phq9_item9_finding(item9: int, now: datetime, scale: float = 1.0) -> SafetyFinding | None:
    """``scale`` shortens the response window (demos and tests; 1 in production)."""
    check_phq9_item9(item9)
    return _triage(Instrument.PHQ9, item9, now, scale)


def cssrs_finding(answers: CssrsAnswers, now: datetime, scale: float = 1.0) -> SafetyFinding | None:
    check_cssrs(answers)
    return _triage(Instrument.CSSRS_SCREENER, answers, now, scale)


def combined(findings: list[SafetyFinding | None]) -> SafetyFinding | None:
    """The most severe of several findings (one answer set, one flag), with every trigger and
    the earliest deadline."""
    found = [f for f in findings if f is not None]
    if not found:
        return None
    worst = max(found, key=lambda f: _ORDER.index(f.severity))
    triggers = tuple(dict.fromkeys(t for f in found for t in f.triggers))
    return SafetyFinding(worst.severity, triggers, min(f.respond_by for f in found), worst.disposition)
