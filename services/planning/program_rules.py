"""Loads the programs' rules from config/programs.yaml into the pure domain's types, and
refuses a configuration whose templates break the level's bounds or are not holistic."""

from functools import cache
from pathlib import Path

import yaml

from services.contracts.codes import Discipline, Finding, LevelOfCare, Modality, Strength, WellbeingDomain

from .domain.plan_rules import (
    InterventionTemplate,
    ObjectiveTemplate,
    ProgramRules,
    ReviewThresholds,
    Rule,
    TargetTemplate,
)

CONFIG = Path(__file__).parent / "config" / "programs.yaml"

# ASAM's public description of level 2.1 (intensive outpatient): 9 or more hours of services a
# week for adults, 6 or more for adolescents. An adult in a program built for adolescents keeps
# the adult minimum.
IOP_MIN_HOURS_ADULT = 9
IOP_MIN_HOURS_ADOLESCENT = 6


class ProgramConfigError(ValueError):
    pass


def _template(d: dict) -> InterventionTemplate:
    return InterventionTemplate(Modality(d["modality"]), int(d["sessions_per_week"]), int(d["minutes"]),
                                Discipline(d["discipline"]),
                                tuple(WellbeingDomain(x) for x in d.get("domains", ())))


def _target(d: dict) -> TargetTemplate:
    if d["comparator"] not in ("lt", "le", "ge", "gt"):
        raise ProgramConfigError(f"unknown comparator {d['comparator']!r}")
    return TargetTemplate(str(d["measure"]), d["comparator"], float(d["value"]))


def _objective(d: dict) -> ObjectiveTemplate:
    return ObjectiveTemplate(d["code"], _target(d), int(d["due_week"]))


def _review(d: dict) -> ReviewThresholds:
    return ReviewThresholds(
        response_drop=float(d["response_drop"]), remission_below=int(d["remission_below"]),
        min_attendance_share=float(d["min_attendance_share"]),
        min_sessions_attended=int(d["min_sessions_attended"]),
        worsening_increase=int(d["worsening_increase"]),
        no_response_after_weeks=int(d["no_response_after_weeks"]),
        step_down_requires_any_of=frozenset(d["step_down_requires_any_of"]),
        measurable_baseline_at_least=int(d.get("measurable_baseline_at_least", 10)),
        severe_at_least=int(d.get("severe_at_least", 20)))


def _program(name: str, d: dict) -> ProgramRules:
    objectives = dict(d.get("objectives", {}))
    always = tuple(_objective(o) for o in objectives.pop("always", ()))
    targets = tuple((k, _target(v)) for k, v in d["goal_targets"].items())
    for key, _ in targets:
        if key != "default":
            Finding(key)
    if "default" not in dict(targets):
        raise ProgramConfigError(f"program {name}: goal_targets needs a 'default'")
    program = ProgramRules(
        name=name,
        level_of_care=LevelOfCare(d["level_of_care"]),
        min_hours=d["weekly_hours"]["minimum"], max_hours=d["weekly_hours"]["maximum"],
        adolescent_min_hours=d["adolescent_weekly_hours"]["minimum"],
        adolescent_max_hours=d["adolescent_weekly_hours"]["maximum"],
        expected_weeks=d["expected_weeks"], review_every_days=d["review_every_days"],
        step_up_to=LevelOfCare(d["step_up_to"]), step_down_to=LevelOfCare(d["step_down_to"]),
        review=_review(d["review"]),
        core=tuple(_template(t) for t in d["core"]),
        rules=tuple(Rule(Finding(r["when"]["finding"]) if "finding" in r["when"] else None,
                         Strength(r["when"]["strength"]) if "strength" in r["when"] else None,
                         _template(r["add"])) for r in d["rules"]),
        goal_targets=targets,
        objectives_always=always,
        objectives_by_finding=tuple((Finding(k), tuple(_objective(o) for o in v)) for k, v in objectives.items()),
        adult_additions=tuple(_template(t) for t in d.get("adult_additions", ())),
    )
    if program.level_of_care is LevelOfCare.INTENSIVE_OUTPATIENT and (
            program.min_hours < IOP_MIN_HOURS_ADULT or program.adolescent_min_hours < IOP_MIN_HOURS_ADOLESCENT):
        raise ProgramConfigError(f"program {name}: IOP (2.1) needs at least {IOP_MIN_HOURS_ADULT:g} h/week for "
                                 f"adults and {IOP_MIN_HOURS_ADOLESCENT:g} for adolescents, whatever the program")
    covered = {dom for t in program.core for dom in t.domains}
    if missing := [dom for dom in WellbeingDomain if dom not in covered]:
        raise ProgramConfigError(f"program {name}: core is not holistic, missing {missing}")
    for adolescent in (False, True):
        b = program.hours_bounds(adolescent)
        core_hours = sum(t.weekly_hours for t in program.core_for(adolescent))
        if not b.minimum <= core_hours <= b.maximum:
            raise ProgramConfigError(f"program {name}: core gives {core_hours:g} h/week, outside {b}")
    return program


@cache
def load_programs(path: Path = CONFIG) -> tuple[str, dict[str, ProgramRules]]:
    raw = yaml.safe_load(path.read_text())
    programs = {name: _program(name, p) for name, p in raw["programs"].items()}
    if raw["default_program"] not in programs:
        raise ProgramConfigError(f"default_program {raw['default_program']!r} is not a program")
    return raw["default_program"], programs


def program_rules(program_id: str) -> ProgramRules:
    default, programs = load_programs()
    return programs.get(program_id, programs[default])
