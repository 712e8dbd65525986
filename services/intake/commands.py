"""The requests people make of intake, as validated models (the API's request bodies)."""

from datetime import date, time

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator, model_validator

from services.contracts.base import Id
from services.contracts.codes import (
    AssessmentKind,
    AttendanceMode,
    Commitment,
    Finding,
    ReferralSource,
    Strength,
    Weekday,
)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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
    tenant_id: Id
    program_id: Id
    source: ReferralSource
    participant: Identity


class Window(Strict):
    day: Weekday
    start: time
    end: time

    @model_validator(mode="after")
    def ordered(self) -> "Window":
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class Goal(Strict):
    text: str = Field(min_length=1, max_length=2000, description="In the participant's own words")


class CompleteAssessment(Strict):
    kind: AssessmentKind = AssessmentKind.INITIAL
    phq9: list[int] = Field(min_length=9, max_length=9, description="PHQ-9 items 1-9, each 0-3")
    gad7: list[int] = Field(min_length=7, max_length=7, description="GAD-7 items 1-7, each 0-3")
    cssrs_positive: bool = False
    findings: list[Finding] = Field(default_factory=list)
    strengths: list[Strength] = Field(default_factory=list)
    goals: list[Goal] = Field(default_factory=list, max_length=20)
    availability: list[Window] = Field(min_length=1, max_length=21)
    commitments: list[Commitment] = Field(default_factory=list)
    attendance_mode: AttendanceMode = AttendanceMode.EITHER
    adolescent: bool = False
    medical_history: str = Field(default="", max_length=20000)
    symptoms: str = Field(default="", max_length=20000)
    challenges: str = Field(default="", max_length=20000)

    @field_validator("phq9", "gad7")
    @classmethod
    def items_in_range(cls, v: list[int]) -> list[int]:
        for i, item in enumerate(v, start=1):
            if not 0 <= item <= 3:
                raise ValueError(f"item {i} must be 0-3, got {item}")
        return v
