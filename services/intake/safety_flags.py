"""Intake's safety flags (raised while scoring an assessment's instruments, in handlers.py):
intake took the answer, intake owns the flag's lifecycle — acknowledgement, resolution and
escalation, recorded by the shared services.clinical_safety.recording with intake's events."""

from datetime import UTC, datetime

from services.clinical_safety import recording
from services.clinical_safety.settings import SafetySettings
from services.contracts.events_intake import (
    AssessmentSafetyFlagAcknowledged,
    AssessmentSafetyFlagEscalated,
    AssessmentSafetyFlagResolved,
)

from .tables import SafetyFlag

EVENTS = recording.FlagEvents(AssessmentSafetyFlagAcknowledged, AssessmentSafetyFlagResolved,
                              AssessmentSafetyFlagEscalated)


def now() -> datetime:
    return datetime.now(UTC)


def sweep(unit_of_work, safety: SafetySettings | None = None) -> recording.SafetySweep:
    safety = safety or SafetySettings()
    return recording.SafetySweep(unit_of_work, SafetyFlag, EVENTS, safety.ladder(), safety.interval(), now)


def describe(flag: SafetyFlag, at: datetime) -> dict:
    return {**recording.describe(flag, at), "source": "assessment", "assessment_id": flag.assessment_id,
            "instrument": flag.instrument}
