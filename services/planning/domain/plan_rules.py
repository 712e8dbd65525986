"""Turning an assessment into a plan: problems (from findings) -> goals (ids, each with a
measurable target) -> objectives (measurable, dated) -> interventions chosen from the
person's findings and strengths, inside the level of care's weekly hours. Pure."""

from dataclasses import dataclass
from datetime import date, timedelta

from services.contracts.codes import Discipline, Finding, LevelOfCare, Modality, Strength, WellbeingDomain
from services.contracts.events_planning import (
    MeasurableTarget,
    PlanGoal,
    PlannedIntervention,
    PlanObjective,
    PlanProblem,
)

from .intensity import HoursBounds, plan_problems_with

GROUP_MODALITIES = frozenset({
    Modality.GROUP_PROCESS, Modality.GROUP_CBT_SKILLS, Modality.GROUP_DBT_SKILLS,
    Modality.GROUP_RELAPSE_PREVENTION, Modality.ART_THERAPY, Modality.MINDFULNESS,
    Modality.EXPERIENTIAL, Modality.PSYCHOEDUCATION, Modality.PEER_SUPPORT,
})


@dataclass(frozen=True)
class InterventionTemplate:
    modality: Modality
    sessions_per_week: int
    minutes: int
    discipline: Discipline
    domains: tuple[WellbeingDomain, ...] = ()

    @property
    def weekly_hours(self) -> float:
        return self.sessions_per_week * self.minutes / 60


@dataclass(frozen=True)
class Rule:
    finding: Finding | None
    strength: Strength | None
    add: InterventionTemplate

    def matches(self, findings: set[Finding], strengths: set[Strength]) -> bool:
        return (self.finding is not None and self.finding in findings) or (
            self.strength is not None and self.strength in strengths)


@dataclass(frozen=True)
class TargetTemplate:
    measure: str
    comparator: str
    value: float


@dataclass(frozen=True)
class ObjectiveTemplate:
    code: str
    target: TargetTemplate
    due_week: int


@dataclass(frozen=True)
class ReviewThresholds:
    response_drop: float
    remission_below: int
    min_attendance_share: float
    min_sessions_attended: int
    worsening_increase: int
    no_response_after_weeks: int
    step_down_requires_any_of: frozenset[str]
    measurable_baseline_at_least: int = 10   # HEDIS: response/remission only from a baseline PHQ-9 > 9
    severe_at_least: int = 20                # PHQ-9 'severe' band: review whatever the baseline


@dataclass(frozen=True)
class ProgramRules:
    name: str
    level_of_care: LevelOfCare
    min_hours: float
    max_hours: float
    adolescent_min_hours: float
    adolescent_max_hours: float
    expected_weeks: int
    review_every_days: int
    step_up_to: LevelOfCare
    step_down_to: LevelOfCare
    review: ReviewThresholds
    core: tuple[InterventionTemplate, ...]
    rules: tuple[Rule, ...]
    goal_targets: tuple[tuple[str, TargetTemplate], ...]
    """In priority order; the key is a finding code or 'default'."""
    objectives_always: tuple[ObjectiveTemplate, ...] = ()
    objectives_by_finding: tuple[tuple[Finding, tuple[ObjectiveTemplate, ...]], ...] = ()
    adult_additions: tuple[InterventionTemplate, ...] = ()
    """Added to the core for an adult (18+) in a program built for adolescents, so an adult's
    plan reaches the adult IOP minimum (9 h a week) there too."""

    def core_for(self, adolescent: bool) -> tuple[InterventionTemplate, ...]:
        return self.core if adolescent else (*self.core, *self.adult_additions)

    def hours_bounds(self, adolescent: bool) -> HoursBounds:
        return (HoursBounds(self.adolescent_min_hours, self.adolescent_max_hours) if adolescent
                else HoursBounds(self.min_hours, self.max_hours))

    def domains_of(self, modality: Modality) -> tuple[WellbeingDomain, ...]:
        """The well-being domains the program's template for a modality covers."""
        for t in (*self.core, *(r.add for r in self.rules)):
            if t.modality == modality:
                return t.domains
        return ()


@dataclass(frozen=True)
class PlanDraft:
    problems: tuple[PlanProblem, ...]
    goals: tuple[PlanGoal, ...]
    objectives: tuple[PlanObjective, ...]
    interventions: tuple[PlannedIntervention, ...]
    weekly_hours: float
    min_hours: float
    max_hours: float
    start_date: date
    expected_weeks: int
    review_dates: tuple[date, ...]


def choose_interventions(program: ProgramRules, findings: set[Finding], strengths: set[Strength],
                         adolescent: bool) -> tuple[InterventionTemplate, ...]:
    """Core holistic interventions plus what the person's findings and strengths call for,
    kept inside the level of care's weekly-hours maximum (additions that would exceed it
    are left out, in rule order)."""
    bounds = program.hours_bounds(adolescent)
    chosen: list[InterventionTemplate] = list(program.core_for(adolescent))
    for rule in program.rules:
        if not rule.matches(findings, strengths):
            continue
        if any(c.modality == rule.add.modality for c in chosen):
            continue
        if sum(c.weekly_hours for c in chosen) + rule.add.weekly_hours > bounds.maximum:
            continue
        chosen.append(rule.add)
    return tuple(chosen)


def _target(t: TargetTemplate, due: date) -> MeasurableTarget:
    return MeasurableTarget(measure=t.measure, comparator=t.comparator, value=t.value, due_date=due)


def _goal_target(program: ProgramRules, problem_findings: list[Finding]) -> TargetTemplate:
    targets = dict(program.goal_targets)
    for key, target in program.goal_targets:
        if key in problem_findings:
            return target
    return targets["default"]


def draft_plan(program: ProgramRules, plan_id: str, findings: set[Finding], strengths: set[Strength],
               goal_ids: tuple[str, ...], adolescent: bool, start: date) -> PlanDraft:
    """The whole first plan. Ids inside it derive from ``plan_id`` (problems -prN,
    objectives -oN, interventions -iN); the goals keep intake's goal ids, and a plan whose
    participant named no goal gets one goal per problem."""
    end = start + timedelta(weeks=program.expected_weeks)
    ordered = [f for f in Finding if f in findings]
    problems = tuple(PlanProblem(problem_id=f"{plan_id}-pr{n}", finding=f) for n, f in enumerate(ordered, 1))
    problem_of = {p.finding: p.problem_id for p in problems}
    all_problem_ids = tuple(p.problem_id for p in problems)
    if goal_ids:
        target = _goal_target(program, ordered)
        goals = tuple(PlanGoal(goal_id=g, problem_ids=all_problem_ids, target=_target(target, end))
                      for g in goal_ids)
    elif problems:
        goals = tuple(PlanGoal(goal_id=f"{plan_id}-g{n}", problem_ids=(p.problem_id,),
                               target=_target(_goal_target(program, [p.finding]), end))
                      for n, p in enumerate(problems, 1))
    else:
        goals = (PlanGoal(goal_id=f"{plan_id}-g1", target=_target(_goal_target(program, []), end)),)

    def goal_for(finding: Finding | None) -> str:
        pid = problem_of.get(finding) if finding else None
        return next((g.goal_id for g in goals if pid in g.problem_ids), goals[0].goal_id)

    objective_templates: list[tuple[Finding | None, ObjectiveTemplate]] = [
        (None, o) for o in program.objectives_always]
    by_finding = dict(program.objectives_by_finding)
    for f in ordered:
        objective_templates += [(f, o) for o in by_finding.get(f, ())]
    objectives = tuple(
        PlanObjective(objective_id=f"{plan_id}-o{n}", goal_id=goal_for(f), code=o.code,
                      target=_target(o.target, start + timedelta(weeks=o.due_week)))
        for n, (f, o) in enumerate(objective_templates, 1))

    chosen = choose_interventions(program, findings, strengths, adolescent)
    rule_finding = {r.add.modality: r.finding for r in program.rules if r.finding in findings}
    interventions = tuple(
        PlannedIntervention(
            intervention_id=f"{plan_id}-i{n}", modality=t.modality, sessions_per_week=t.sessions_per_week,
            minutes=t.minutes, discipline=t.discipline, group=t.modality in GROUP_MODALITIES,
            problem_ids=((problem_of[rule_finding[t.modality]],) if t.modality in rule_finding
                         and t not in program.core_for(adolescent) else all_problem_ids),
            wellbeing_domains=t.domains)
        for n, t in enumerate(chosen, 1))
    bounds = program.hours_bounds(adolescent)
    problems_found = plan_problems_with(interventions, bounds)
    if problems_found:
        raise ValueError(f"program {program.name} template: {'; '.join(problems_found)}")
    reviews = tuple(start + timedelta(days=program.review_every_days * i)
                    for i in range(1, program.expected_weeks * 7 // program.review_every_days + 1))
    hours = round(sum(t.weekly_hours for t in chosen), 2)
    return PlanDraft(problems, goals, objectives, interventions, hours, bounds.minimum, bounds.maximum,
                     start, program.expected_weeks, reviews)
