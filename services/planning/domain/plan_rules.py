"""Turning an assessment's findings and strengths into interventions. Pure."""

from dataclasses import dataclass
from datetime import date, timedelta

from services.contracts.codes import Discipline, Finding, LevelOfCare, Modality, Strength

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
class ProgramRules:
    level_of_care: LevelOfCare
    min_hours: float
    max_hours: float
    adolescent_min_hours: float
    adolescent_max_hours: float
    expected_weeks: int
    review_every_days: int
    step_down_after_sessions: int
    step_down_to: LevelOfCare
    core: tuple[InterventionTemplate, ...]
    rules: tuple[Rule, ...]


@dataclass(frozen=True)
class PlanDraft:
    interventions: tuple[InterventionTemplate, ...]
    weekly_hours: float
    min_hours: float
    max_hours: float
    start_date: date
    expected_weeks: int
    review_dates: tuple[date, ...]


def draft_plan(program: ProgramRules, findings: set[Finding], strengths: set[Strength],
               adolescent: bool, start: date) -> PlanDraft:
    """Core holistic interventions plus what the person's findings and strengths call for,
    kept inside the level of care's weekly-hours bounds (additions that would exceed
    the maximum are left out, in rule order)."""
    lo, hi = ((program.adolescent_min_hours, program.adolescent_max_hours) if adolescent
              else (program.min_hours, program.max_hours))
    chosen: list[InterventionTemplate] = list(program.core)
    for rule in program.rules:
        if not rule.matches(findings, strengths):
            continue
        if any(c.modality == rule.add.modality for c in chosen):
            continue
        if sum(c.weekly_hours for c in chosen) + rule.add.weekly_hours > hi:
            continue
        chosen.append(rule.add)
    hours = sum(c.weekly_hours for c in chosen)
    if hours < lo:
        raise ValueError(f"program template gives {hours:.1f} h/week, below the minimum {lo}")
    reviews = tuple(start + timedelta(days=program.review_every_days * i)
                    for i in range(1, program.expected_weeks * 7 // program.review_every_days + 1))
    return PlanDraft(tuple(chosen), round(hours, 2), lo, hi, start, program.expected_weeks, reviews)


def ready_for_step_down(program: ProgramRules, sessions_attended: int) -> bool:
    return sessions_attended >= program.step_down_after_sessions
