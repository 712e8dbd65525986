import pytest

from services.contracts.codes import Instrument
from services.intake.domain.instruments import ItemError, phq9_item9_positive, score_gad7, score_phq9


@pytest.mark.parametrize("items,total,band", [
    ([0] * 9, 0, "minimal"),
    ([1, 1, 1, 1, 0, 0, 0, 0, 0], 4, "minimal"),
    ([1, 1, 1, 1, 1, 0, 0, 0, 0], 5, "mild"),
    ([2, 2, 2, 2, 2, 0, 0, 0, 0], 10, "moderate"),
    ([3, 3, 3, 3, 3, 0, 0, 0, 0], 15, "moderately_severe"),
    ([3, 3, 3, 3, 3, 3, 2, 0, 0], 20, "severe"),
    ([3] * 9, 27, "severe"),
])
def test_phq9_total_and_band(items, total, band):
    r = score_phq9(items)
    assert (r.instrument, r.total, r.band) == (Instrument.PHQ9, total, band)


@pytest.mark.parametrize("items,total,band", [
    ([0] * 7, 0, "minimal"), ([1, 1, 1, 1, 1, 0, 0], 5, "mild"),
    ([2, 2, 2, 2, 2, 0, 0], 10, "moderate"), ([3, 3, 3, 3, 3, 0, 0], 15, "severe"), ([3] * 7, 21, "severe"),
])
def test_gad7_total_and_band(items, total, band):
    r = score_gad7(items)
    assert (r.total, r.band) == (total, band)


def test_item_out_of_range_is_named():
    with pytest.raises(ItemError, match="phq9 item 3"):
        score_phq9([0, 0, 4, 0, 0, 0, 0, 0, 0])


def test_missing_items_are_refused():
    with pytest.raises(ItemError, match="expected 7 items"):
        score_gad7([0] * 6)


def test_item9_positive():
    assert phq9_item9_positive([0] * 8 + [1])
    assert not phq9_item9_positive([3] * 8 + [0])
