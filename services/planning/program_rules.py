"""Loads program rules from config/programs.yaml into the pure domain's types."""

from functools import cache
from pathlib import Path

import yaml

from services.contracts.codes import Discipline, Finding, LevelOfCare, Modality, Strength

from .domain.plan_rules import InterventionTemplate, ProgramRules, Rule

CONFIG = Path(__file__).parent / "config" / "programs.yaml"


def _template(d: dict) -> InterventionTemplate:
    return InterventionTemplate(Modality(d["modality"]), int(d["sessions_per_week"]), int(d["minutes"]),
                                Discipline(d["discipline"]))


def _program(d: dict) -> ProgramRules:
    return ProgramRules(
        level_of_care=LevelOfCare(d["level_of_care"]),
        min_hours=d["weekly_hours"]["minimum"], max_hours=d["weekly_hours"]["maximum"],
        adolescent_min_hours=d["adolescent_weekly_hours"]["minimum"],
        adolescent_max_hours=d["adolescent_weekly_hours"]["maximum"],
        expected_weeks=d["expected_weeks"], review_every_days=d["review_every_days"],
        step_down_after_sessions=d["step_down_after_sessions"],
        step_down_to=LevelOfCare(d["step_down_to"]),
        core=tuple(_template(t) for t in d["core"]),
        rules=tuple(Rule(Finding(r["when"]["finding"]) if "finding" in r["when"] else None,
                         Strength(r["when"]["strength"]) if "strength" in r["when"] else None,
                         _template(r["add"])) for r in d["rules"]),
    )


@cache
def load_programs(path: Path = CONFIG) -> dict[str, ProgramRules]:
    raw = yaml.safe_load(path.read_text())
    return {name: _program(p) for name, p in raw["programs"].items()}


def program_rules(program_id: str) -> ProgramRules:
    programs = load_programs()
    return programs.get(program_id, programs["default"])
