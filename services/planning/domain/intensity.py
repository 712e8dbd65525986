"""Intensity within the level of care: weekly hours inside the level's bounds, and a plan
that stays holistic (every well-being domain covered). Pure."""

from collections.abc import Iterable
from dataclasses import dataclass

from services.contracts.codes import WellbeingDomain
from services.contracts.events_planning import PlannedIntervention


@dataclass(frozen=True)
class HoursBounds:
    minimum: float
    maximum: float


def weekly_hours(interventions: Iterable[PlannedIntervention]) -> float:
    return round(sum(i.sessions_per_week * i.minutes for i in interventions) / 60, 2)


def hours_problem(hours: float, bounds: HoursBounds) -> str | None:
    """Why the weekly hours are outside the level's bounds, or None when inside (bounds included)."""
    if hours < bounds.minimum:
        return f"weekly hours {hours:g} below the level's minimum {bounds.minimum:g}"
    if hours > bounds.maximum:
        return f"weekly hours {hours:g} above the level's maximum {bounds.maximum:g}"
    return None


def missing_domains(interventions: Iterable[PlannedIntervention]) -> list[WellbeingDomain]:
    covered = {d for i in interventions for d in i.wellbeing_domains}
    return [d for d in WellbeingDomain if d not in covered]


def plan_problems_with(interventions: tuple[PlannedIntervention, ...], bounds: HoursBounds) -> list[str]:
    """Every reason a plan's interventions are not acceptable at this level; empty when fine."""
    reasons = []
    if not interventions:
        reasons.append("a plan needs at least one intervention")
    if (why := hours_problem(weekly_hours(interventions), bounds)) is not None:
        reasons.append(why)
    if missing := missing_domains(interventions):
        reasons.append("not holistic: no intervention covers " + ", ".join(missing))
    ids = [i.intervention_id for i in interventions]
    if len(ids) != len(set(ids)):
        reasons.append("intervention ids must be unique")
    return reasons
