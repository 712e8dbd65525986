"""Which days after discharge a program checks in on. Pure."""

from collections.abc import Mapping

from .follow_up_rules import DEFAULT_CADENCE_DAYS


def cadence_for(program_id: str, by_program: Mapping[str, tuple[int, ...]],
                default: tuple[int, ...] = DEFAULT_CADENCE_DAYS) -> tuple[int, ...]:
    """The program's own cadence when configured, else the default; sorted, distinct,
    and never a check-in on the discharge day itself (day 0)."""
    days = by_program.get(program_id) or default
    cadence = tuple(sorted({int(d) for d in days}))
    if not cadence or cadence[0] < 1:
        raise ValueError(f"a cadence is one or more days after discharge (>= 1), got {days!r}")
    return cadence
