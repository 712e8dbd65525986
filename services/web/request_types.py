"""Field types shared by the services' request bodies."""

from datetime import time
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, model_validator

from services.contracts.codes import Weekday


def _without_offset(t: time) -> time:
    if t.tzinfo is not None:
        raise ValueError("a time of day in the program's time zone, without an offset (e.g. 18:00)")
    return t


TimeOfDay = Annotated[time, AfterValidator(_without_offset)]
"""A wall-clock time in the program's time zone (availability windows). A time with an offset
("18:00Z") is refused: it could not be compared with the program's times."""


class Window(BaseModel):
    """A weekly window of availability (a referral's, a plan revision's)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    day: Weekday
    start: TimeOfDay
    end: TimeOfDay

    @model_validator(mode="after")
    def ordered(self) -> "Window":
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self
