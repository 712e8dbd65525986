"""Standard instruments scored by their published rules. Pure functions."""

from collections.abc import Sequence
from dataclasses import dataclass

from services.contracts.codes import Instrument


class ItemError(ValueError):
    """An instrument item missing or out of range; names the item."""

    def __init__(self, instrument: Instrument, item: str, message: str):
        super().__init__(f"{instrument.value} {item}: {message}")
        self.instrument = instrument
        self.item = item


@dataclass(frozen=True)
class InstrumentResult:
    instrument: Instrument
    total: int
    band: str


PHQ9_BANDS = ((4, "minimal"), (9, "mild"), (14, "moderate"), (19, "moderately_severe"), (27, "severe"))
GAD7_BANDS = ((4, "minimal"), (9, "mild"), (14, "moderate"), (21, "severe"))


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
