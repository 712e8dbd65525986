"""Plans from assessments: modality selection, intensity bounds, problems -> goals ->
objectives, per-program configuration. Pure domain."""

from datetime import date, timedelta

import pytest

from services.contracts.codes import Discipline, Finding, Modality, Strength, WellbeingDomain
from services.contracts.events_planning import PlannedIntervention
from services.planning.domain.intensity import HoursBounds, hours_problem, plan_problems_with, weekly_hours
from services.planning.domain.plan_rules import choose_interventions, draft_plan
from services.planning.program_rules import load_programs, program_rules

START = date(2026, 12, 1)
ADULT = program_rules("adult-mh")


def modalities(findings=(), strengths=(), program=ADULT, adolescent=False) -> set[Modality]:
    return {t.modality for t in choose_interventions(program, set(findings), set(strengths), adolescent)}


@pytest.mark.parametrize("finding,strength,expected", [
    (Finding.DEPRESSIVE_SYMPTOMS, None, {Modality.GROUP_CBT_SKILLS, Modality.INDIVIDUAL_COUNSELLING}),
    (Finding.ALCOHOL_USE, None, {Modality.GROUP_RELAPSE_PREVENTION, Modality.PSYCHOEDUCATION}),
    (Finding.DRUG_USE, None, {Modality.GROUP_RELAPSE_PREVENTION}),
    (Finding.TRAUMA, None, {Modality.TRAUMA_INFORMED_INDIVIDUAL}),
    (Finding.EMOTIONAL_DYSREGULATION, None, {Modality.GROUP_DBT_SKILLS, Modality.MINDFULNESS}),
    (Finding.STRESS, None, {Modality.GROUP_DBT_SKILLS, Modality.MINDFULNESS}),
    (Finding.LOW_SOCIAL_SUPPORT, None, {Modality.FAMILY_SESSION, Modality.PEER_SUPPORT}),
    (None, Strength.CREATIVE, {Modality.ART_THERAPY}),
    (None, Strength.PHYSICAL, {Modality.EXPERIENTIAL}),
])
def test_modalities_are_chosen_from_the_person(finding, strength, expected):
    chosen = modalities([finding] if finding else [], [strength] if strength else [])
    assert expected <= chosen
    added = expected - modalities()
    assert added and not added & modalities(), "the rule adds what the core does not have"


def test_without_findings_only_the_holistic_core_is_planned():
    assert modalities() == {Modality.GROUP_PROCESS, Modality.INDIVIDUAL_COUNSELLING, Modality.MINDFULNESS,
                            Modality.PSYCHOEDUCATION}
    assert Modality.GROUP_RELAPSE_PREVENTION not in modalities([Finding.TRAUMA])


def test_every_program_and_every_plan_covers_every_wellbeing_domain():
    _, programs = load_programs()
    assert {"adult-mh", "substance-use", "adolescent"} <= set(programs)
    for program in programs.values():
        for findings in (set(), set(Finding)):
            draft = draft_plan(program, "plan-t", findings, set(), (), False, START)
            covered = {d for i in draft.interventions for d in i.wellbeing_domains}
            assert covered == set(WellbeingDomain), program.name


def test_programs_have_their_own_templates():
    assert Modality.GROUP_RELAPSE_PREVENTION in modalities(program=program_rules("substance-use"))
    assert Modality.FAMILY_SESSION in modalities(program=program_rules("adolescent"))
    assert Modality.GROUP_RELAPSE_PREVENTION not in modalities()
    assert program_rules("no-such-program") is ADULT, "an unknown program gets the default program"


@pytest.mark.parametrize("program_id", ["adult-mh", "substance-use", "adolescent"])
@pytest.mark.parametrize("adolescent", [False, True])
def test_hours_stay_inside_the_level_bounds_whatever_the_findings(program_id, adolescent):
    program = program_rules(program_id)
    bounds = program.hours_bounds(adolescent)
    for findings, strengths in ((set(), set()), (set(Finding), set(Strength))):
        draft = draft_plan(program, "plan-t", findings, strengths, (), adolescent, START)
        assert bounds.minimum <= draft.weekly_hours <= bounds.maximum
        assert weekly_hours(draft.interventions) == draft.weekly_hours


def test_iop_bounds_adults_9_to_19_adolescents_at_least_6():
    assert ADULT.hours_bounds(False) == HoursBounds(9, 19)
    assert ADULT.hours_bounds(True).minimum == 6
    teen = program_rules("adolescent")
    assert teen.hours_bounds(False).minimum == 9, "an adult in the adolescent program keeps the adult minimum"
    assert teen.hours_bounds(True).minimum == 6


@pytest.mark.parametrize("adolescent, minimum", [(True, 6), (False, 9)])
def test_the_adolescent_program_plans_an_adult_at_least_9_hours(adolescent, minimum):
    draft = draft_plan(program_rules("adolescent"), "plan-t", set(), set(), (), adolescent, START)
    assert draft.min_hours == minimum and draft.weekly_hours >= minimum


@pytest.mark.parametrize("adult_min, teen_min", [(8.5, 6), (9, 5.5)])
def test_a_program_config_below_the_iop_minimums_is_refused(adult_min, teen_min):
    import yaml

    from services.planning.program_rules import CONFIG, ProgramConfigError, _program
    raw = yaml.safe_load(CONFIG.read_text())["programs"]["adult-mh"]
    raw = {**raw, "weekly_hours": {"minimum": adult_min, "maximum": 19},
           "adolescent_weekly_hours": {"minimum": teen_min, "maximum": 19}}
    with pytest.raises(ProgramConfigError, match="IOP"):
        _program("x", raw)


@pytest.mark.parametrize("hours,inside", [(8.99, False), (9, True), (19, True), (19.01, False)])
def test_hours_bounds_at_their_edges(hours, inside):
    assert (hours_problem(hours, HoursBounds(9, 19)) is None) is inside


def intervention(n: int, minutes: int, domains=tuple(WellbeingDomain)) -> PlannedIntervention:
    return PlannedIntervention(intervention_id=f"i{n}", modality=Modality.GROUP_PROCESS, sessions_per_week=1,
                               minutes=minutes, discipline=Discipline.CLINICIAN, group=True,
                               wellbeing_domains=domains)


def test_a_plan_outside_the_bounds_or_not_holistic_is_refused_with_the_reason():
    assert plan_problems_with((intervention(1, 240), intervention(2, 240), intervention(3, 120)),
                              HoursBounds(9, 19)) == []
    assert plan_problems_with((intervention(1, 240),), HoursBounds(9, 19)) == [
        "weekly hours 4 below the level's minimum 9"]
    too_much = tuple(intervention(n, 240) for n in range(5))
    assert plan_problems_with(too_much, HoursBounds(9, 19)) == ["weekly hours 20 above the level's maximum 19"]
    narrow = tuple(intervention(n, 240, (WellbeingDomain.EMOTIONAL,)) for n in range(3))
    [reason] = plan_problems_with(narrow, HoursBounds(9, 19))
    assert reason.startswith("not holistic") and "physical" in reason and "emotional," not in reason


def test_problems_goals_objectives_interventions_chain():
    draft = draft_plan(ADULT, "plan-t", {Finding.ALCOHOL_USE, Finding.DEPRESSIVE_SYMPTOMS}, set(),
                       ("goal-a", "goal-b"), False, START)
    assert [p.finding for p in draft.problems] == [Finding.DEPRESSIVE_SYMPTOMS, Finding.ALCOHOL_USE]
    assert [g.goal_id for g in draft.goals] == ["goal-a", "goal-b"], "intake's goal ids are kept"
    target = draft.goals[0].target
    assert (target.measure, target.comparator, target.value) == ("phq9_total", "lt", 5)
    assert target.due_date == START + timedelta(weeks=ADULT.expected_weeks)
    codes = {o.code for o in draft.objectives}
    assert {"attend_sessions", "physical_activity", "social_contact", "phq9_reduced", "abstinence_started"} <= codes
    assert all(o.goal_id in {"goal-a", "goal-b"} and o.target.due_date > START for o in draft.objectives)
    relapse = next(i for i in draft.interventions if i.modality is Modality.GROUP_RELAPSE_PREVENTION)
    assert relapse.problem_ids == (draft.problems[1].problem_id,)


def test_without_named_goals_each_problem_gets_a_measurable_goal():
    draft = draft_plan(ADULT, "plan-t", {Finding.ALCOHOL_USE, Finding.ANXIETY}, set(), (), False, START)
    assert [(g.goal_id, g.target.measure) for g in draft.goals] == [
        ("plan-t-g1", "gad7_total"), ("plan-t-g2", "abstinent_days")]
    assert len(draft_plan(ADULT, "plan-t", set(), set(), (), False, START).goals) == 1


# -- drafts for the adult program --------------------------------------------------------------

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
