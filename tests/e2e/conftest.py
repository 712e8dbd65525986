"""End-to-end fixtures: one demo cohort driven through the APIs, shared by the operations tests,
with participant reads measured meanwhile (printed at the end of the run)."""

import json

import pytest

from .operations_support import drive_demo_cohort

_READS: dict = {}


@pytest.fixture(scope="session")
def demo_cohort_run(stack):
    """Ten demo participants (one with a safety flag, one referred out) in aftercare or referred
    out, and the read probe that ran meanwhile."""
    cohort, probe = drive_demo_cohort(stack, size=10)
    _READS["line"], _READS["summary"] = probe.line(), probe.summary()
    (stack.data_dir / "read-latency.json").write_text(json.dumps(probe.summary(), indent=2))
    return cohort, probe


@pytest.fixture(scope="session")
def demo_cohort(demo_cohort_run):
    return demo_cohort_run[0]


def pytest_terminal_summary(terminalreporter):
    if "line" in _READS:
        terminalreporter.write_sep("-", "service-level objective")
        terminalreporter.write_line(_READS["line"])
