"""Field types shared by the services' request bodies."""

from datetime import time
from typing import Annotated

from pydantic import AfterValidator


def _without_offset(t: time) -> time:
    if t.tzinfo is not None:
        raise ValueError("a time of day in the program's time zone, without an offset (e.g. 18:00)")
    return t


TimeOfDay = Annotated[time, AfterValidator(_without_offset)]
"""A wall-clock time in the program's time zone (availability windows). A time with an offset
("18:00Z") is refused: it could not be compared with the program's times."""
