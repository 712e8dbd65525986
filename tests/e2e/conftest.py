"""End-to-end fixtures: one demo cohort driven through the APIs, shared by the operations tests."""

import pytest

from .operations_support import drive_demo_cohort


@pytest.fixture(scope="session")
def demo_cohort(stack):
    """Ten demo participants (one with a safety flag, one referred out) in aftercare or referred out."""
    return drive_demo_cohort(stack, size=10)
