"""A row change that commutes: applied in any order, a set of upserts gives the same rows.
That is what lets the read model be rebuilt by replaying topics whose relative order across
partitions is not the order of the live run. Each column has one merge rule:

- ``put``: a fact every event that names it agrees on (ids, codes, a scheduled time);
- ``earliest`` / ``latest``: the minimum / maximum seen (stage times, escalation levels);
- ``add``: a count (each event is applied once: the consumer is idempotent).
"""

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Upsert:
    table: str
    key: tuple[tuple[str, Any], ...]
    put: dict[str, Any] = field(default_factory=dict)
    earliest: dict[str, Any] = field(default_factory=dict)
    latest: dict[str, Any] = field(default_factory=dict)
    add: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, table: str, /, key: dict[str, Any], **rules) -> "Upsert":
        return cls(table, tuple(key.items()), **rules)


def merge(row: dict[str, Any] | None, up: Upsert) -> dict[str, Any]:
    """The row after the upsert (a new dict; ``row`` is not changed)."""
    out = dict(row or {})
    out.update(dict(up.key))
    for col, v in up.put.items():
        if v is not None:
            out[col] = v
    for col, v in up.earliest.items():
        if v is not None and (out.get(col) is None or v < out[col]):
            out[col] = v
    for col, v in up.latest.items():
        if v is not None and (out.get(col) is None or v > out[col]):
            out[col] = v
    for col, n in up.add.items():
        out[col] = (out.get(col) or 0) + n
    return out
