"""The requests people make of intake, as validated models (the API's request bodies).
Unknown fields are refused (422 naming them); every model carries an example for the OpenAPI
document. No body names who acts: who records, signs, administers or completes is the caller's
token (``Access.actor``), and a body that still sends ``signer`` or ``administered_by`` is refused."""

from datetime import date

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StrictBool, StrictInt, field_validator, model_validator
from pydantic.config import JsonDict

from services.contracts.base import Id
from services.contracts.codes import (
    AssessmentKind,
    AttendanceMode,
    Commitment,
    Finding,
    LevelOfCare,
    ReferralSource,
    Strength,
)
from services.web.request_types import Window

from .domain.asam import (
    MedicalStability,
    PsychiatricStability,
    ReadinessToChange,
    RecoveryEnvironment,
    WithdrawalRisk,
)
from .domain.instruments import CssrsAnswers, ItemError, Sex, check_cssrs


def _strict(example: dict | None = None) -> ConfigDict:
    extra: JsonDict | None = {"examples": [example]} if example is not None else None
    return ConfigDict(extra="forbid", frozen=True, json_schema_extra=extra)


class Strict(BaseModel):
    model_config = _strict()


# --- referrals ---------------------------------------------------------------------------


class Identity(Strict):
    given_name: str = Field(min_length=1, max_length=200)
    family_name: str = Field(min_length=1, max_length=200)
    date_of_birth: date
    email: EmailStr | None = None
    phone: str | None = Field(default=None, max_length=40, pattern=r"^\+?[0-9 ()-]{5,40}$")

    @field_validator("date_of_birth")
    @classmethod
    def in_the_past(cls, v: date) -> date:
        if v >= date.today():
            raise ValueError("must be in the past")
        return v


class ReceiveReferral(Strict):
    model_config = _strict({
        "tenant_id": "demo-network", "program_id": "adult-mh", "source": "emergency_department",
        "participant": {"given_name": "Ada", "family_name": "Example", "date_of_birth": "1990-04-12",
                        "phone": "+44 20 7946 0000"},
        "reason": "Referred after an ED visit for a panic attack"})
    tenant_id: Id | None = Field(default=None, description="the caller's tenant when left out; must be it")
    program_id: Id | None = Field(default=None, description="required when the caller's token names several programs")
    source: ReferralSource
    participant: Identity
    reason: str = Field(default="", max_length=5000, description="Free text; stays in intake")

    @field_validator("source")
    @classmethod
    def not_step_up(cls, v: ReferralSource) -> ReferralSource:
        if v is ReferralSource.STEP_UP_FROM_AFTERCARE:
            raise ValueError("step-up re-referrals come from aftercare's RelapseRiskDetected, not the API")
        return v


# --- assessments -------------------------------------------------------------------------


class OpenAssessment(Strict):
    model_config = _strict({"kind": "initial"})
    kind: AssessmentKind = AssessmentKind.INITIAL


class Goal(Strict):
    text: str = Field(min_length=1, max_length=2000, description="In the participant's own words")


class ClinicalInterview(Strict):
    """Recorded and signed by a clinician or psychiatrist (the token's role): symptoms, strengths, challenges, goals."""

    model_config = _strict({
        "symptoms": "Low mood most days for two months",
        "challenges": "Isolating since a job loss", "findings": ["depressive_symptoms", "stress"],
        "strengths": ["creative", "social_support"], "goals": [{"text": "Get back to a steady routine"}],
        "readiness_to_change": "preparation"})
    symptoms: str = Field(default="", max_length=20000)
    challenges: str = Field(default="", max_length=20000)
    findings: list[Finding] = Field(default_factory=list, max_length=len(Finding))
    strengths: list[Strength] = Field(default_factory=list, max_length=len(Strength))
    goals: list[Goal] = Field(default_factory=list, max_length=20)
    readiness_to_change: ReadinessToChange


class PsychiatricMedical(Strict):
    """Recorded and signed by a psychiatrist (the token's role; physicians and nurse
    practitioners too where the identity provider grants such a role)."""

    model_config = _strict({
        "medical_history": "Asthma, well controlled", "medications": "Salbutamol as needed",
        "medical_stability": "stable_chronic", "psychiatric_stability": "moderate"})
    medical_history: str = Field(default="", max_length=20000)
    medications: str = Field(default="", max_length=5000)
    medical_stability: MedicalStability
    psychiatric_stability: PsychiatricStability


class SubstanceUse(Strict):
    """Recorded and signed by a clinician or psychiatrist (the token's role; addiction
    counsellors too where the identity provider grants such a role)."""

    model_config = _strict({
        "history": "Drinks most evenings since the job loss", "withdrawal_risk": "mild"})
    history: str = Field(default="", max_length=20000)
    withdrawal_risk: WithdrawalRisk


class Psychosocial(Strict):
    """Recorded and signed by a case manager (the token's role): availability, commitments, preferences, environment."""

    model_config = _strict({
        "availability": [{"day": "mon", "start": "17:30", "end": "21:30"},
                         {"day": "sat", "start": "09:00", "end": "13:00"}],
        "commitments": ["work", "family"], "attendance_mode": "in_person",
        "recovery_environment": "mostly_supportive", "living_situation": "Lives with a sister"})
    availability: list[Window] = Field(min_length=1, max_length=21)
    commitments: list[Commitment] = Field(default_factory=list, max_length=len(Commitment))
    attendance_mode: AttendanceMode = AttendanceMode.EITHER
    recovery_environment: RecoveryEnvironment
    living_situation: str = Field(default="", max_length=20000)


class SignSection(Strict):
    """A signature needs no body: the signer is the caller's token (an empty object is accepted)."""

    model_config = _strict({})



# --- instruments -------------------------------------------------------------------------


# Items and answers are strict: "2" or 1.0 for an item, "yes" or 1 for an answer are refused
# rather than read as what they might have meant.
def _items_in_range(v: list[int], instrument: str, low: int, high: int) -> list[int]:
    for i, item in enumerate(v, start=1):
        if not low <= item <= high:
            raise ValueError(f"{instrument} item {i} must be {low}-{high}, got {item}")
    return v


class Phq9(Strict):
    model_config = _strict({"items": [2, 2, 1, 2, 1, 1, 2, 1, 0]})
    items: list[StrictInt] = Field(min_length=9, max_length=9, description="Items 1-9, each 0-3")

    @field_validator("items")
    @classmethod
    def in_range(cls, v: list[int]) -> list[int]:
        return _items_in_range(v, "phq9", 0, 3)


class Gad7(Strict):
    model_config = _strict({"items": [2, 1, 2, 1, 1, 0, 1]})
    items: list[StrictInt] = Field(min_length=7, max_length=7, description="Items 1-7, each 0-3")

    @field_validator("items")
    @classmethod
    def in_range(cls, v: list[int]) -> list[int]:
        return _items_in_range(v, "gad7", 0, 3)


class AuditC(Strict):
    model_config = _strict({"items": [3, 1, 1], "sex": "female"})
    items: list[StrictInt] = Field(min_length=3, max_length=3, description="Items 1-3, each 0-4")
    sex: Sex = Field(description="Selects the positive cut-off: >= 4 for men, >= 3 for women")

    @field_validator("items")
    @classmethod
    def in_range(cls, v: list[int]) -> list[int]:
        return _items_in_range(v, "audit_c", 0, 4)


class Dast10(Strict):
    model_config = _strict({"answers": [True, False, True, False, True, False, False, False, False, False]})
    answers: list[StrictBool] = Field(min_length=10, max_length=10,
                                description="Items 1-10, yes = true (item 3 is reverse-scored)")


class CssrsScreener(Strict):
    model_config = _strict({"q1": True, "q2": False, "q6": False})
    q1: StrictBool = Field(description="Wished you were dead (past month)")
    q2: StrictBool = Field(description="Thoughts of killing yourself (past month)")
    q3: StrictBool | None = Field(default=None, description="How (method); asked only if q2 is yes")
    q4: StrictBool | None = Field(default=None, description="Intention of acting; asked only if q2 is yes")
    q5: StrictBool | None = Field(default=None, description="Plan and intent; asked only if q2 is yes")
    q6: StrictBool = Field(description="Ever done, started or prepared to do anything to end your life")
    q6_past_3_months: StrictBool | None = Field(default=None, description="If q6: within the past 3 months")

    def answers(self) -> CssrsAnswers:
        return CssrsAnswers(self.q1, self.q2, self.q3, self.q4, self.q5, self.q6, self.q6_past_3_months)

    @model_validator(mode="after")
    def skip_logic(self) -> "CssrsScreener":
        try:
            check_cssrs(self.answers())
        except ItemError as exc:
            raise ValueError(str(exc)) from None
        return self


# --- completion --------------------------------------------------------------------------


class Override(Strict):
    level_of_care: LevelOfCare
    reason_code: str = Field(pattern=r"^[a-z0-9_]{3,64}$", description="A code, e.g. 'clinical_judgement'")
    note: str = Field(default="", max_length=5000, description="Free text; stays in intake")


class CompleteAssessment(Strict):
    """Completed by the caller: a token with the clinician or psychiatrist role."""

    model_config = _strict({})
    override: Override | None = Field(default=None, description="Override the rules' level of care, with why")
