"""Progress reviews: each decision at its threshold boundaries (thresholds from the
program configuration: response >= 50% PHQ-9 drop, remission < 5, attendance share >= 0.75,
at least 3 sessions, no open safety flag, worsening >= +5, no response by week 4)."""

from dataclasses import replace

import pytest

from services.contracts.codes import LevelOfCare, ReviewDecision, RiskSeverity
from services.planning.domain.progress_review import ReviewInputs, criteria_met, review
from services.planning.program_rules import program_rules

ADULT = program_rules("adult-mh")
SUBSTANCE = program_rules("substance-use")

# improving participant, attending well, two weeks in: ready for step-down
READY = ReviewInputs(phq9_baseline=14, phq9_latest=7, sessions_attended=3, sessions_missed=1, goals_total=2,
                     goals_met=0, open_safety_flags=(), weeks_in_treatment=2)


def decide(program=ADULT, **changes):
    return review(replace(READY, **changes), program)


def test_ready_for_step_down_names_its_criteria_and_the_lower_level():
    outcome = decide()
    assert outcome.decision is ReviewDecision.STEP_DOWN
    assert outcome.recommended_level is LevelOfCare.OUTPATIENT
    assert {"phq9_response", "attendance_share_met", "min_sessions_attended", "no_open_safety_flag"} <= set(
        outcome.criteria_met)


@pytest.mark.parametrize("latest,response", [(7, True), (8, False)])
def test_response_is_a_drop_of_at_least_half(latest, response):
    met = criteria_met(replace(READY, phq9_baseline=14, phq9_latest=latest), ADULT)
    assert ("phq9_response" in met) is response
    assert (decide(phq9_latest=latest).decision is ReviewDecision.STEP_DOWN) is response


@pytest.mark.parametrize("latest,remission", [(4, True), (5, False)])
def test_remission_is_phq9_under_5(latest, remission):
    met = criteria_met(replace(READY, phq9_baseline=10, phq9_latest=latest), ADULT)
    assert ("phq9_remission" in met) is remission


# HEDIS: response and remission are measured only from a baseline PHQ-9 of 10 or more
@pytest.mark.parametrize("baseline,latest,measured", [(4, 0, False), (9, 0, False), (9, 4, False), (10, 4, True),
                                                     (10, 5, True)])
def test_response_and_remission_only_from_a_baseline_of_10(baseline, latest, measured):
    inputs = replace(READY, phq9_baseline=baseline, phq9_latest=latest)
    met = set(criteria_met(inputs, ADULT))
    assert bool(met & {"phq9_response", "phq9_remission"}) is measured
    outcome = review(inputs, ADULT)
    assert (outcome.decision is ReviewDecision.STEP_DOWN) is measured, "a low baseline is never stepped down on it"
    if not measured:
        assert outcome.decision is ReviewDecision.CONTINUE and "phq9_baseline_below_10" in outcome.reason_codes
        late = review(replace(inputs, weeks_in_treatment=8), ADULT)
        assert "no_response" not in late.reason_codes, "no 'no response' either: it is not measured"


def test_a_low_baseline_may_still_step_down_on_goals_where_the_program_allows_it():
    outcome = decide(SUBSTANCE, phq9_baseline=4, phq9_latest=2, goals_total=2, goals_met=2)
    assert outcome.decision is ReviewDecision.STEP_DOWN and outcome.reason_codes == ("all_goals_met",)


@pytest.mark.parametrize("previous,best,latest,codes", [
    (8, 8, 12, ()),
    (8, 8, 13, ("phq9_worsening_since_previous", "phq9_worsening_since_best")),
    (12, 6, 11, ("phq9_worsening_since_best",)),
    (12, 7, 11, ()),
])
def test_worsening_against_the_previous_and_the_best_score(previous, best, latest, codes):
    outcome = decide(phq9_baseline=18, phq9_previous=previous, phq9_best=best, phq9_latest=latest)
    found = tuple(c for c in outcome.reason_codes if c.startswith("phq9_worsening_since"))
    assert found == codes
    if codes:
        assert outcome.decision is ReviewDecision.REVISE


@pytest.mark.parametrize("baseline", [4, 9, 10, 22])
@pytest.mark.parametrize("latest,severe", [(19, False), (20, True)])
def test_a_score_of_20_or_more_is_reviewed_whatever_the_baseline(baseline, latest, severe):
    outcome = decide(phq9_baseline=baseline, phq9_latest=latest, phq9_previous=baseline, phq9_best=baseline)
    assert ("phq9_severe" in outcome.reason_codes) is severe
    if severe:
        assert outcome.decision in (ReviewDecision.REVISE, ReviewDecision.STEP_UP)


@pytest.mark.parametrize("attended,missed,step_down", [(3, 1, True), (3, 2, False), (6, 2, True)])
def test_attendance_share_at_the_threshold(attended, missed, step_down):
    outcome = decide(sessions_attended=attended, sessions_missed=missed)
    assert (outcome.decision is ReviewDecision.STEP_DOWN) is step_down
    if not step_down:  # 3/5 = 0.6 < 0.75: the plan is revised for engagement
        assert outcome.decision is ReviewDecision.REVISE
        assert "attendance_below_threshold" in outcome.reason_codes


@pytest.mark.parametrize("attended,decision", [(2, ReviewDecision.CONTINUE), (3, ReviewDecision.STEP_DOWN)])
def test_no_step_down_before_the_minimum_sessions(attended, decision):
    outcome = decide(sessions_attended=attended, sessions_missed=0)
    assert outcome.decision is decision
    if decision is ReviewDecision.CONTINUE:
        assert outcome.reason_codes == ("awaiting_attendance",)


def test_an_open_moderate_safety_flag_blocks_step_down_and_revises():
    outcome = decide(open_safety_flags=(RiskSeverity.MODERATE,))
    assert outcome.decision is ReviewDecision.REVISE and "safety_flag_open" in outcome.reason_codes
    assert "no_open_safety_flag" not in outcome.criteria_met


@pytest.mark.parametrize("severity", [RiskSeverity.HIGH, RiskSeverity.IMMINENT])
def test_a_high_safety_flag_steps_up(severity):
    outcome = decide(open_safety_flags=(severity,))
    assert outcome.decision is ReviewDecision.STEP_UP
    assert outcome.recommended_level is LevelOfCare.PARTIAL_HOSPITALISATION
    assert outcome.reason_codes == ("safety_risk_high",)


@pytest.mark.parametrize("latest,decision", [(19, ReviewDecision.STEP_UP), (18, ReviewDecision.REVISE),
                                             (14, ReviewDecision.CONTINUE)])
def test_worsening_by_5_or_more_steps_up(latest, decision):
    outcome = decide(phq9_latest=latest, weeks_in_treatment=1)
    assert outcome.decision is decision
    if decision is ReviewDecision.STEP_UP:
        assert outcome.reason_codes == ("phq9_worsening",)
    if decision is ReviewDecision.REVISE:
        assert outcome.reason_codes == ("phq9_rising",)


@pytest.mark.parametrize("weeks,decision", [(3.9, ReviewDecision.CONTINUE), (4, ReviewDecision.REVISE)])
def test_no_response_by_week_4_revises(weeks, decision):
    outcome = decide(phq9_latest=12, weeks_in_treatment=weeks)
    assert outcome.decision is decision
    assert ("no_response" in outcome.reason_codes) is (decision is ReviewDecision.REVISE)


def test_without_a_reassessment_the_plan_continues():
    outcome = decide(phq9_latest=None)
    assert outcome.decision is ReviewDecision.CONTINUE and outcome.reason_codes == ("awaiting_reassessment",)


@pytest.mark.parametrize("met,step_down", [(1, False), (2, True)])
def test_goals_met_count_for_step_down_where_the_program_says_so(met, step_down):
    no_mood_change = {"phq9_latest": 14, "goals_met": met, "weeks_in_treatment": 1}
    assert (decide(SUBSTANCE, **no_mood_change).decision is ReviewDecision.STEP_DOWN) is step_down
    assert decide(ADULT, **no_mood_change).decision is ReviewDecision.CONTINUE, "adult MH needs a PHQ-9 change"
