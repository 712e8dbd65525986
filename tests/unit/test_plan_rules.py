from datetime import date

from services.contracts.codes import Finding, Modality, Strength
from services.planning.domain.plan_rules import draft_plan
from services.planning.program_rules import program_rules

START = date(2026, 12, 1)


def test_every_plan_is_holistic_and_inside_iop_hours():
    program = program_rules("adult-mh")
    draft = draft_plan(program, "plan-t", set(), set(), goal_ids=(), adolescent=False, start=START)
    modalities = {i.modality for i in draft.interventions}
    assert {Modality.GROUP_PROCESS, Modality.INDIVIDUAL_COUNSELLING, Modality.MINDFULNESS} <= modalities
    assert 9 <= draft.weekly_hours <= 19


def test_modalities_follow_findings_and_strengths():
    program = program_rules("adult-mh")
    draft = draft_plan(program, "plan-t", {Finding.DEPRESSIVE_SYMPTOMS, Finding.ALCOHOL_USE}, {Strength.CREATIVE},
                       goal_ids=(), adolescent=False, start=START)
    modalities = {i.modality for i in draft.interventions}
    assert {Modality.GROUP_CBT_SKILLS, Modality.GROUP_RELAPSE_PREVENTION, Modality.ART_THERAPY} <= modalities
    assert Modality.GROUP_DBT_SKILLS not in modalities


def test_additions_never_exceed_the_level_maximum():
    program = program_rules("adult-mh")
    draft = draft_plan(program, "plan-t", set(Finding), set(Strength), goal_ids=(), adolescent=False, start=START)
    assert draft.weekly_hours <= program.max_hours
    assert len({i.modality for i in draft.interventions}) == len(draft.interventions)


def test_review_dates_every_14_days_over_the_expected_length():
    program = program_rules("adult-mh")
    draft = draft_plan(program, "plan-t", set(), set(), goal_ids=(), adolescent=False, start=START)
    assert draft.review_dates[0] == date(2026, 12, 15)
    assert all((b - a).days == 14 for a, b in zip(draft.review_dates, draft.review_dates[1:]))
    assert len(draft.review_dates) == program.expected_weeks * 7 // 14

