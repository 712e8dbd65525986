"""The answers of the safety screeners a touchpoint may ask: PHQ-9 item 9 and the C-SSRS
screener (recent). Validation names the item at fault. Pure."""

from dataclasses import dataclass
from enum import StrEnum

from services.contracts.codes import Instrument


class ItemError(ValueError):
    """An instrument item missing or out of range; names the item."""

    def __init__(self, instrument: Instrument, item: str, message: str):
        super().__init__(f"{instrument.value} {item}: {message}")
        self.instrument = instrument
        self.item = item


def check_phq9_item9(value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 3:
        raise ItemError(Instrument.PHQ9, "item 9", f"must be an integer 0-3, got {value!r}")


class CssrsRisk(StrEnum):
    NONE = "none"
    LOW = "low"
    MODERATE = "moderate"
    HIGH = "high"


@dataclass(frozen=True)
class CssrsAnswers:
    """The C-SSRS screener (recent): Q1 wish to be dead, Q2 non-specific active suicidal
    thoughts, Q3 thoughts with a method, Q4 intent, Q5 plan and intent (past month);
    Q6 suicidal behaviour ever, and if so whether within the past 3 months.
    Q3-Q5 are asked only when Q2 is yes (the screener's skip logic)."""

    q1: bool
    q2: bool
    q3: bool | None
    q4: bool | None
    q5: bool | None
    q6: bool
    q6_past_3_months: bool | None


def check_cssrs(a: CssrsAnswers) -> None:
    for name in ("q1", "q2", "q6"):
        if not isinstance(getattr(a, name), bool):
            raise ItemError(Instrument.CSSRS_SCREENER, name, "must be answered yes/no")
    for name in ("q3", "q4", "q5"):
        value = getattr(a, name)
        if a.q2 and not isinstance(value, bool):
            raise ItemError(Instrument.CSSRS_SCREENER, name, "must be answered when q2 is yes")
        if not a.q2 and value is not None:
            raise ItemError(Instrument.CSSRS_SCREENER, name, "is skipped when q2 is no; leave it out")
    if a.q6 and not isinstance(a.q6_past_3_months, bool):
        raise ItemError(Instrument.CSSRS_SCREENER, "q6_past_3_months", "must be answered when q6 is yes")
    if not a.q6 and a.q6_past_3_months is not None:
        raise ItemError(Instrument.CSSRS_SCREENER, "q6_past_3_months", "is asked only when q6 is yes")


def cssrs_risk(a: CssrsAnswers) -> CssrsRisk:
    """Risk from the screener's triage (Columbia Lighthouse Project, screener with triage
    points): Q4, Q5 or behaviour in the past 3 months -> high; Q3 or behaviour longer
    ago -> moderate; Q1 or Q2 only -> low; all no -> none."""
    check_cssrs(a)
    if a.q4 or a.q5 or (a.q6 and a.q6_past_3_months):
        return CssrsRisk.HIGH
    if a.q3 or a.q6:
        return CssrsRisk.MODERATE
    if a.q1 or a.q2:
        return CssrsRisk.LOW
    return CssrsRisk.NONE
