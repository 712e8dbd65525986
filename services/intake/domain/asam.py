"""The six ASAM-style dimensions, each rated 0-4 from the assessment's coded answers and
instrument scores. Pure."""

from dataclasses import dataclass
from enum import StrEnum

from services.contracts.codes import AsamDimension as Dimension
from services.contracts.codes import Instrument, RiskSeverity

from .instruments import InstrumentResult
from .safety import SafetyFinding


class WithdrawalRisk(StrEnum):  # rated by the substance-use section
    NONE = "none"
    MILD = "mild"
    MODERATE = "moderate"
    SEVERE = "severe"
    LIFE_THREATENING = "life_threatening"


class MedicalStability(StrEnum):  # rated by the psychiatric/medical section
    NO_CONCERNS = "no_concerns"
    STABLE_CHRONIC = "stable_chronic"
    NEEDS_MONITORING = "needs_monitoring"
    NEEDS_24H_NURSING = "needs_24h_nursing"
    ACUTE_UNSTABLE = "acute_unstable"


class PsychiatricStability(StrEnum):  # rated by the psychiatric/medical section
    STABLE = "stable"
    MILD = "mild"
    MODERATE = "moderate"
    SEVERE = "severe"
    ACUTE = "acute"


class ReadinessToChange(StrEnum):  # stage of change, from the clinical interview
    ACTION = "action"
    PREPARATION = "preparation"
    CONTEMPLATION = "contemplation"
    PRECONTEMPLATION = "precontemplation"
    REFUSES_TREATMENT = "refuses_treatment"


class RecoveryEnvironment(StrEnum):  # rated by the psychosocial section
    SUPPORTIVE = "supportive"
    MOSTLY_SUPPORTIVE = "mostly_supportive"
    LIMITED_SUPPORT = "limited_support"
    UNSUPPORTIVE = "unsupportive"
    UNSAFE = "unsafe"


def _rank(value: StrEnum) -> int:
    """Each coded answer above is listed from 0 (no problem) to 4 (most severe)."""
    return list(type(value)).index(value)


_PHQ9_D3 = {"minimal": 0, "mild": 1, "moderate": 2, "moderately_severe": 2, "severe": 2}
_GAD7_D3 = {"minimal": 0, "mild": 1, "moderate": 2, "severe": 2}
_DAST_D5 = {"none": 0, "low": 1, "moderate": 2, "substantial": 3, "severe": 4}
_SAFETY_D3 = {RiskSeverity.MODERATE: 2, RiskSeverity.HIGH: 3, RiskSeverity.IMMINENT: 4}


@dataclass(frozen=True)
class AsamInputs:
    withdrawal: WithdrawalRisk
    medical: MedicalStability
    psychiatric: PsychiatricStability
    readiness: ReadinessToChange
    environment: RecoveryEnvironment
    scores: dict[Instrument, InstrumentResult]
    safety: SafetyFinding | None
    stepped_back_up: bool = False


def rate_dimensions(a: AsamInputs) -> dict[Dimension, int]:
    """Symptom scores alone rate emotional/behavioural at most 2 (IOP can treat severe
    symptoms); 3-4 needs the psychiatrist's rating or a high-risk safety finding."""
    phq9, gad7 = a.scores.get(Instrument.PHQ9), a.scores.get(Instrument.GAD7)
    audit, dast = a.scores.get(Instrument.AUDIT_C), a.scores.get(Instrument.DAST10)
    d3 = max(_rank(a.psychiatric), _PHQ9_D3[phq9.band] if phq9 else 0, _GAD7_D3[gad7.band] if gad7 else 0,
             _SAFETY_D3[a.safety.severity] if a.safety else 0)
    audit_d5 = 0 if audit is None or audit.band == "negative" else (3 if audit.total >= 8 else 2)
    d5 = max(audit_d5, _DAST_D5[dast.band] if dast else 0, 2 if a.stepped_back_up else 0)
    return {
        Dimension.INTOXICATION_WITHDRAWAL: _rank(a.withdrawal),
        Dimension.BIOMEDICAL: _rank(a.medical),
        Dimension.EMOTIONAL_BEHAVIOURAL: d3,
        Dimension.READINESS_TO_CHANGE: _rank(a.readiness),
        Dimension.RELAPSE_POTENTIAL: d5,
        Dimension.RECOVERY_ENVIRONMENT: _rank(a.environment),
    }
