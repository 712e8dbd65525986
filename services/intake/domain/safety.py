"""Safety routing of an assessment's instruments: the shared triage table
(``services.clinical_safety.triage``, one rule per row with its source) applied to the
PHQ-9's item 9 and the C-SSRS screener. Pure."""

from datetime import datetime

from services.clinical_safety.triage import (  # noqa: F401  (re-exported)
    RESPONSE_WINDOW,
    SafetyFinding,
    combined,
    cssrs_finding,
    more_severe,
    phq9_item9_finding,
)

from .instruments import CssrsAnswers, phq9_item9_positive


def phq9_safety(items: list[int], now: datetime) -> SafetyFinding | None:
    """PHQ-9 item 9 above 0 (the whole form validated first)."""
    if not phq9_item9_positive(items):
        return None
    return phq9_item9_finding(items[8], now)


def cssrs_safety(answers: CssrsAnswers, now: datetime) -> SafetyFinding | None:
    """A positive C-SSRS screen, triaged by the screener's own guidance."""
    return cssrs_finding(answers, now)
