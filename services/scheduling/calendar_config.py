"""Loads the program calendar (config/calendar.yaml) into the pure domain's types."""

from dataclasses import dataclass
from datetime import time
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from services.contracts.codes import Discipline, Modality, Weekday

from .domain.placement import Clinician, GroupSlot, Window

CONFIG = Path(__file__).parent / "config" / "calendar.yaml"


@dataclass(frozen=True)
class ProgramCalendar:
    timezone: ZoneInfo
    groups: tuple[GroupSlot, ...]
    clinicians: tuple[Clinician, ...]


def _t(s: str) -> time:
    return time.fromisoformat(s)


@cache
def load_calendar(path: Path = CONFIG) -> ProgramCalendar:
    raw = yaml.safe_load(path.read_text())
    groups = tuple(
        GroupSlot(g["id"], Modality(g["modality"]), Weekday(g["day"]), _t(g["start"]), int(g["minutes"]),
                  int(g["capacity"]), g["clinician"], g["place"]) for g in raw["groups"])
    clinicians = tuple(
        Clinician(c["id"], frozenset(Discipline(d) for d in c["disciplines"]),
                  tuple(Window(Weekday(w["day"]), _t(w["start"]), _t(w["end"])) for w in c["windows"]))
        for c in raw["clinicians"])
    return ProgramCalendar(ZoneInfo(raw["timezone"]), groups, clinicians)
