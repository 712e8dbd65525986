"""The program calendar as configuration: parsed from config/calendar.yaml (the seed)
or from the document stored in scheduling's database once edited through the API."""

from dataclasses import dataclass
from datetime import time
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from services.contracts.codes import Discipline, Modality, Weekday

from .domain.availability import InvalidAvailability, check_availability
from .domain.model import Clinician, GroupSlot, Window

CONFIG = Path(__file__).parent / "config" / "calendar.yaml"


class InvalidCalendar(ValueError):
    pass


@dataclass(frozen=True)
class ProgramCalendar:
    timezone: ZoneInfo
    groups: tuple[GroupSlot, ...]
    clinicians: tuple[Clinician, ...]

    def group(self, group_id: str | None) -> GroupSlot | None:
        return next((g for g in self.groups if g.group_id == group_id), None)


def _t(s) -> time:
    t = s if isinstance(s, time) else time.fromisoformat(str(s))
    if t.tzinfo is not None:  # wall-clock times in the calendar's time zone; "18:00Z" cannot be compared with them
        raise ValueError(f"{s}: a time of day without an offset")
    return t


def parse_calendar(raw: dict) -> ProgramCalendar:
    """The calendar document (the YAML's shape) or ``InvalidCalendar`` with the reason."""
    try:
        tz = ZoneInfo(raw["timezone"])
        groups = tuple(
            GroupSlot(g["id"], Modality(g["modality"]), Weekday(g["day"]), _t(g["start"]), int(g["minutes"]),
                      int(g["capacity"]), g["clinician"], g["place"]) for g in raw["groups"])
        clinicians = tuple(
            Clinician(c["id"], frozenset(Discipline(d) for d in c["disciplines"]),
                      tuple(Window(Weekday(w["day"]), _t(w["start"]), _t(w["end"])) for w in c["windows"]))
            for c in raw["clinicians"])
    except (KeyError, TypeError, ValueError, ZoneInfoNotFoundError) as exc:
        raise InvalidCalendar(f"invalid calendar: {type(exc).__name__}: {exc}") from None
    for ids, what in (([g.group_id for g in groups], "group"), ([c.clinician_id for c in clinicians], "clinician")):
        if len(set(ids)) != len(ids):
            raise InvalidCalendar(f"invalid calendar: a {what} id appears twice")
    for g in groups:
        if g.capacity < 1 or not 15 <= g.minutes <= 480:
            raise InvalidCalendar(f"invalid calendar: group {g.group_id} needs capacity >= 1 and 15-480 minutes")
    for c in clinicians:
        try:
            check_availability(list(c.windows))
        except InvalidAvailability as exc:
            raise InvalidCalendar(f"invalid calendar: clinician {c.clinician_id}: {exc}") from None
    return ProgramCalendar(tz, groups, clinicians)


def seed_document(path: Path = CONFIG) -> dict:
    return yaml.safe_load(path.read_text())


@cache
def load_calendar(path: Path = CONFIG) -> ProgramCalendar:
    return parse_calendar(seed_document(path))
