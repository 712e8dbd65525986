"""Every instrument at every band boundary, plus the invalid cases; PHQ-9 and GAD-7 totals from
item lists and PHQ-9 item 9."""

import pytest

from services.contracts.codes import Instrument
from services.intake.domain.instruments import (
    CssrsAnswers,
    CssrsRisk,
    ItemError,
    Sex,
    cssrs_risk,
    phq9_item9_positive,
    score_audit_c,
    score_cssrs,
    score_dast10,
    score_gad7,
    score_phq9,
)


def items_summing_to(total: int, count: int, high: int) -> list[int]:
    out = []
    for _ in range(count):
        out.append(min(high, total))
        total -= out[-1]
    assert total == 0
    return out


@pytest.mark.parametrize("total,band", [
    (0, "minimal"), (4, "minimal"), (5, "mild"), (9, "mild"), (10, "moderate"), (14, "moderate"),
    (15, "moderately_severe"), (19, "moderately_severe"), (20, "severe"), (27, "severe")])
def test_phq9_every_band_boundary(total, band):
    r = score_phq9(items_summing_to(total, 9, 3))
    assert (r.instrument, r.total, r.band) == (Instrument.PHQ9, total, band)


@pytest.mark.parametrize("total,band", [
    (0, "minimal"), (4, "minimal"), (5, "mild"), (9, "mild"), (10, "moderate"), (14, "moderate"),
    (15, "severe"), (21, "severe")])
def test_gad7_every_band_boundary(total, band):
    r = score_gad7(items_summing_to(total, 7, 3))
    assert (r.instrument, r.total, r.band) == (Instrument.GAD7, total, band)


@pytest.mark.parametrize("total,sex,band", [
    (0, Sex.MALE, "negative"), (3, Sex.MALE, "negative"), (4, Sex.MALE, "positive"), (12, Sex.MALE, "positive"),
    (0, Sex.FEMALE, "negative"), (2, Sex.FEMALE, "negative"), (3, Sex.FEMALE, "positive"),
    (12, Sex.FEMALE, "positive")])
def test_audit_c_cut_offs_differ_by_sex(total, sex, band):
    r = score_audit_c(items_summing_to(total, 3, 4), sex)
    assert (r.instrument, r.total, r.band) == (Instrument.AUDIT_C, total, band)


def dast(yes: int) -> list[bool]:
    """Answers scoring ``yes`` points: item 3 answered 'yes' (able to stop) scores nothing."""
    answers = [False, False, True] + [False] * 7
    scoring = [0, 1, 3, 4, 5, 6, 7, 8, 9][:yes] if yes < 10 else None
    if yes == 10:
        return [True, True, False] + [True] * 7
    for idx in scoring:
        answers[idx] = True
    return answers


@pytest.mark.parametrize("total,band", [
    (0, "none"), (1, "low"), (2, "low"), (3, "moderate"), (5, "moderate"), (6, "substantial"),
    (8, "substantial"), (9, "severe"), (10, "severe")])
def test_dast10_every_band_boundary(total, band):
    r = score_dast10(dast(total))
    assert (r.instrument, r.total, r.band) == (Instrument.DAST10, total, band)


def test_dast10_item3_is_reverse_scored():
    all_no = [False] * 10
    assert score_dast10(all_no).total == 1, "'no' to 'always able to stop' scores a point"
    assert score_dast10([False, False, True] + [False] * 7).total == 0
    assert score_dast10([True] * 10).total == 9


@pytest.mark.parametrize("answers,risk", [
    (CssrsAnswers(False, False, None, None, None, False, None), CssrsRisk.NONE),
    (CssrsAnswers(True, False, None, None, None, False, None), CssrsRisk.LOW),
    (CssrsAnswers(True, True, False, False, False, False, None), CssrsRisk.LOW),
    (CssrsAnswers(False, True, False, False, False, False, None), CssrsRisk.LOW),
    (CssrsAnswers(True, True, True, False, False, False, None), CssrsRisk.MODERATE),
    (CssrsAnswers(False, False, None, None, None, True, False), CssrsRisk.MODERATE),
    (CssrsAnswers(True, True, True, True, False, False, None), CssrsRisk.HIGH),
    (CssrsAnswers(True, True, False, False, True, False, None), CssrsRisk.HIGH),
    (CssrsAnswers(False, False, None, None, None, True, True), CssrsRisk.HIGH),
])
def test_cssrs_risk_from_its_item_logic(answers, risk):
    assert cssrs_risk(answers) is risk
    assert score_cssrs(answers).band == risk.value


@pytest.mark.parametrize("answers,item", [
    (CssrsAnswers(True, True, None, False, False, False, None), "q3"),
    (CssrsAnswers(True, False, True, None, None, False, None), "q3"),
    (CssrsAnswers(True, False, None, None, None, True, None), "q6_past_3_months"),
    (CssrsAnswers(True, False, None, None, None, False, True), "q6_past_3_months"),
    (CssrsAnswers(None, False, None, None, None, False, None), "q1"),
])
def test_cssrs_skip_logic_is_enforced_and_names_the_item(answers, item):
    with pytest.raises(ItemError) as err:
        cssrs_risk(answers)
    assert err.value.item == item and f"cssrs_screener {item}" in str(err.value)


@pytest.mark.parametrize("score,items,item", [
    (score_phq9, [0, 0, 4, 0, 0, 0, 0, 0, 0], "item 3"),
    (score_phq9, [0, 0, 0, 0, 0, 0, 0, 0, -1], "item 9"),
    (score_phq9, [0] * 8, "items"),
    (score_phq9, [0] * 10, "items"),
    (score_gad7, [0, 0, 0, 0, 0, 0, 4], "item 7"),
    (score_gad7, [0] * 6, "items"),
    (score_phq9, [0, 1.5, 0, 0, 0, 0, 0, 0, 0], "item 2"),
    (score_phq9, [True] + [0] * 8, "item 1"),
    (lambda i: score_audit_c(i, Sex.MALE), [5, 0, 0], "item 1"),
    (lambda i: score_audit_c(i, Sex.MALE), [0, 0], "items"),
    (lambda i: score_audit_c(i, "unknown"), [0, 0, 0], "sex"),
    (score_dast10, [False] * 9, "items"),
    (score_dast10, [False] * 4 + [1] + [False] * 5, "item 5"),
])
def test_invalid_items_are_refused_by_name(score, items, item):
    with pytest.raises(ItemError) as err:
        score(items)
    assert err.value.item == item


# -- totals and bands from item lists, item messages, PHQ-9 item 9 ------------------------------

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
