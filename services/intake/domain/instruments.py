"""Standard instruments scored by their published rules, every item validated. Pure functions."""

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from services.clinical_safety.screeners import (  # noqa: F401  (re-exported: intake scores the C-SSRS)
    CssrsAnswers,
    CssrsRisk,
    ItemError,
    check_cssrs,
    cssrs_risk,
)
from services.contracts.codes import Instrument


class Sex(StrEnum):
    """Sex as the AUDIT-C cut-offs use it."""

    FEMALE = "female"
    MALE = "male"


@dataclass(frozen=True)
class InstrumentResult:
    instrument: Instrument
    total: int
    band: str


PHQ9_BANDS = ((4, "minimal"), (9, "mild"), (14, "moderate"), (19, "moderately_severe"), (27, "severe"))
GAD7_BANDS = ((4, "minimal"), (9, "mild"), (14, "moderate"), (21, "severe"))
DAST10_BANDS = ((0, "none"), (2, "low"), (5, "moderate"), (8, "substantial"), (10, "severe"))
AUDIT_C_POSITIVE_AT = {Sex.MALE: 4, Sex.FEMALE: 3}
DAST10_REVERSE_SCORED = frozenset({3})  # "Are you always able to stop using drugs when you want to?"


def _check_items(instrument: Instrument, items: Sequence[int], count: int, low: int, high: int) -> None:
    if len(items) != count:
        raise ItemError(instrument, "items", f"expected {count} items, got {len(items)}")
    for i, value in enumerate(items, start=1):
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise ItemError(instrument, f"item {i}", f"must be an integer {low}-{high}, got {value!r}")


def _band(total: int, bands: tuple[tuple[int, str], ...]) -> str:
    return next(name for upper, name in bands if total <= upper)


def score_phq9(items: Sequence[int]) -> InstrumentResult:
    """PHQ-9: nine items 0-3, total 0-27, bands 5/10/15/20 (Kroenke et al. 2001)."""
    _check_items(Instrument.PHQ9, items, 9, 0, 3)
    total = sum(items)
    return InstrumentResult(Instrument.PHQ9, total, _band(total, PHQ9_BANDS))


def phq9_item9_positive(items: Sequence[int]) -> bool:
    """Item 9 (thoughts of being better off dead or of self-harm) above 0 is a safety finding."""
    _check_items(Instrument.PHQ9, items, 9, 0, 3)
    return items[8] > 0


def score_gad7(items: Sequence[int]) -> InstrumentResult:
    """GAD-7: seven items 0-3, total 0-21, bands 5/10/15 (Spitzer et al. 2006)."""
    _check_items(Instrument.GAD7, items, 7, 0, 3)
    total = sum(items)
    return InstrumentResult(Instrument.GAD7, total, _band(total, GAD7_BANDS))


def score_audit_c(items: Sequence[int], sex: Sex) -> InstrumentResult:
    """AUDIT-C: three items 0-4, total 0-12; positive at >= 4 for men, >= 3 for women
    (Bush et al. 1998; Bradley et al. 2007)."""
    _check_items(Instrument.AUDIT_C, items, 3, 0, 4)
    if not isinstance(sex, Sex):
        raise ItemError(Instrument.AUDIT_C, "sex", f"must be one of {[s.value for s in Sex]}, got {sex!r}")
    total = sum(items)
    return InstrumentResult(Instrument.AUDIT_C, total,
                            "positive" if total >= AUDIT_C_POSITIVE_AT[sex] else "negative")


def score_dast10(answers: Sequence[bool]) -> InstrumentResult:
    """DAST-10: ten yes/no items, one point per 'yes' except item 3, where 'no' scores
    (Skinner 1982); bands 0 none, 1-2 low, 3-5 moderate, 6-8 substantial, 9-10 severe."""
    if len(answers) != 10:
        raise ItemError(Instrument.DAST10, "items", f"expected 10 items, got {len(answers)}")
    for i, answer in enumerate(answers, start=1):
        if not isinstance(answer, bool):
            raise ItemError(Instrument.DAST10, f"item {i}", f"must be yes/no (true/false), got {answer!r}")
    total = sum((not a) if i in DAST10_REVERSE_SCORED else a for i, a in enumerate(answers, start=1))
    return InstrumentResult(Instrument.DAST10, total, _band(total, DAST10_BANDS))


def score_cssrs(a: CssrsAnswers) -> InstrumentResult:
    """Total = the number of 'yes' answers among Q1-Q6 (0-6, no clinical meaning on its
    own); the band is the triage risk level."""
    risk = cssrs_risk(a)
    total = sum(bool(getattr(a, q)) for q in ("q1", "q2", "q3", "q4", "q5", "q6"))
    return InstrumentResult(Instrument.CSSRS_SCREENER, total, risk.value)
