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


# What a rating can rest on: a clinician's coded rating, or a screening instrument's score.
CLINICIAN = "clinician"
SCREENS = frozenset({"phq9", "gad7", "audit_c", "dast10"})
# the clinician's own finding that corroborates a screen (the clinical interview's findings)
_CORROBORATES = {"phq9": "depressive_symptoms", "gad7": "anxiety", "audit_c": "alcohol_use", "dast10": "drug_use"}


def dimension_support(a: AsamInputs, clinician_findings: set[str] | frozenset[str] = frozenset()
                      ) -> dict[Dimension, frozenset[str]]:
    """What each dimension's rating rests on: ``clinician`` (a coded rating, a safety finding, a
    step back up, or a screen the clinician's own finding corroborates) and/or the screening
    instruments whose score alone gives the rating."""
    ratings = rate_dimensions(a)
    phq9, gad7 = a.scores.get(Instrument.PHQ9), a.scores.get(Instrument.GAD7)
    audit, dast = a.scores.get(Instrument.AUDIT_C), a.scores.get(Instrument.DAST10)
    d3 = ratings[Dimension.EMOTIONAL_BEHAVIOURAL]
    d5 = ratings[Dimension.RELAPSE_POTENTIAL]
    audit_d5 = 0 if audit is None or audit.band == "negative" else (3 if audit.total >= 8 else 2)
    d3_from = {"phq9": _PHQ9_D3[phq9.band] if phq9 else 0, "gad7": _GAD7_D3[gad7.band] if gad7 else 0}
    d5_from = {"audit_c": audit_d5, "dast10": _DAST_D5[dast.band] if dast else 0}

    def rests_on(rating: int, clinician: bool, screens: dict[str, int]) -> frozenset[str]:
        found = {s if _CORROBORATES[s] not in clinician_findings else CLINICIAN
                 for s, r in screens.items() if r and r >= rating}
        return frozenset(found | ({CLINICIAN} if clinician else set()))

    support = {d: frozenset({CLINICIAN}) for d in Dimension}
    support[Dimension.EMOTIONAL_BEHAVIOURAL] = rests_on(
        d3, _rank(a.psychiatric) >= d3 or (a.safety is not None and _SAFETY_D3[a.safety.severity] >= d3), d3_from)
    support[Dimension.RELAPSE_POTENTIAL] = rests_on(d5, a.stepped_back_up and d5 <= 2, d5_from)
    return support
