"""Upcasters: an older version of an event read as the current one.

A breaking change to an event is a new version of its type (``continuum.scheduling.
session_attended.v2``: a new model, registered with ``@event("scheduling", "session_attended",
version=2)``). Messages of the older version stay on the topics (events are kept for good) and
producers may still send it while they are upgraded, so every reader must be able to read it:
an upcaster, a pure function from the older version's ``data`` to the newer version's shape,
registered once, in the contracts, beside the newer model::

    @UPCASTERS.register("continuum.scheduling.session_attended.v1",
                        "continuum.scheduling.session_attended.v2")
    def _minutes_to_seconds(data: dict) -> dict:
        rest = {k: v for k, v in data.items() if k != "minutes_attended"}
        return {**rest, "seconds_attended": data["minutes_attended"] * 60}

``envelope.parse_data`` follows the upcasters from a message's type (v1 to v2 to v3 ...) to
the last one and validates the data against that version's model, so a handler is written for
the current version only and gets older messages as that version (the older model may stay
in the catalogue while producers still send it). A version with neither a model nor an upcaster
is an ``InvalidEvent``, dead-lettered as ``unknown event type: ...`` with the versions this code
reads; an upcaster that fails on a payload dead-letters it as ``invalid ...``. Each upcaster has
a test reading an older payload as the newer version: the worked example is in
``tests/unit/test_contracts_upcasting.py`` and, through the consumer,
``tests/integration/test_consumer_upcasting.py``.
"""

import copy
import re
from collections.abc import Callable, Iterator
from typing import Any

Data = dict[str, Any]
Upcaster = Callable[[Data], Data]

_TYPE = re.compile(r"^(continuum\.[a-z0-9_]+\.[a-z0-9_]+)\.v([1-9][0-9]*)$")


def versioned(event_type: str) -> tuple[str, int] | None:
    """``("continuum.scheduling.session_attended", 1)`` for ``...session_attended.v1``."""
    m = _TYPE.match(event_type)
    return (m.group(1), int(m.group(2))) if m else None


class Upcasters:
    """One step per older type: the next type and the function that turns its data into it."""

    def __init__(self) -> None:
        self._steps: dict[str, tuple[str, Upcaster]] = {}

    def register(self, from_type: str, to_type: str) -> Callable[[Upcaster], Upcaster]:
        """Decorator: ``from_type``'s data is turned into ``to_type``'s by the function.
        Only from one version of an event to a later one, once per older type (so no loop)."""
        old, new = versioned(from_type), versioned(to_type)
        if old is None or new is None or old[0] != new[0] or new[1] <= old[1]:
            raise ValueError(f"an upcaster goes from a version of an event to a later one: {from_type} -> {to_type}")
        if from_type in self._steps:
            raise ValueError(f"upcaster registered twice: {from_type}")

        def add(upcaster: Upcaster) -> Upcaster:
            self._steps[from_type] = (to_type, upcaster)
            return upcaster

        return add

    def remove(self, from_type: str) -> None:
        self._steps.pop(from_type, None)

    def __contains__(self, event_type: object) -> bool:
        return event_type in self._steps

    def __iter__(self) -> Iterator[str]:
        """The older types there are upcasters from."""
        return iter(self._steps)

    def upcast(self, event_type: str, data: Data) -> tuple[str, Data]:
        """The type at the end of the chain from ``event_type`` and the data in its shape
        (``data`` itself is left as it is). Raises what a failing upcaster raises."""
        while event_type in self._steps:
            event_type, upcaster = self._steps[event_type]
            data = upcaster(copy.deepcopy(data))
        return event_type, data


UPCASTERS = Upcasters()
"""The contracts' upcasters: registered beside the newer models (none yet: every event is at v1)."""
