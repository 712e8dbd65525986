"""The requests clinicians and participants make of planning, as validated models (the API's
request bodies). The caller is authenticated by their token; who signs or acts is still taken from the body."""


from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator

from services.contracts.base import Id
from services.contracts.codes import AttendanceMode, Discipline, Modality, SignerRole, WellbeingDomain
from services.web.request_types import Window

CODE = r"^[a-z0-9_]{1,64}$"


class Strict(BaseModel):
    """Unknown fields are refused (422 naming them); numbers must be JSON numbers, not strings."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Staff(Strict):
    staff_id: Id


class InterventionChange(Strict):
    intervention_id: Id | None = Field(default=None, description="Keep an intervention's id; omit for a new one")
    modality: Modality
    sessions_per_week: StrictInt = Field(ge=1, le=14)
    minutes: StrictInt = Field(ge=15, le=240)
    discipline: Discipline
    problem_ids: list[Id] = Field(default_factory=list, max_length=30)
    wellbeing_domains: list[WellbeingDomain] | None = Field(
        default=None, max_length=len(WellbeingDomain), description="Defaults to what the program's template for the modality covers")


class RevisePlan(Strict):
    base_version: StrictInt = Field(ge=1, description="The version this edit was made on (optimistic concurrency)")
    reason_code: str = Field(pattern=CODE, description="Why, as a code, e.g. 'review_revise', 'participant_request'")
    note: str | None = Field(default=None, max_length=4000, description="Kept in planning; never put in events")
    revised_by: Staff
    interventions: list[InterventionChange] | None = Field(default=None, max_length=30)
    availability: list[Window] | None = Field(default=None, min_length=1, max_length=21)
    attendance_mode: AttendanceMode | None = None
    expected_weeks: StrictInt | None = Field(default=None, ge=1, le=52)

    @model_validator(mode="after")
    def changes_something(self) -> "RevisePlan":
        if (self.interventions, self.availability, self.attendance_mode, self.expected_weeks) == (None,) * 4:
            raise ValueError("a revision changes interventions, availability, attendance_mode or expected_weeks")
        return self


class SignPlan(Strict):
    role: SignerRole
    signer_id: Id = Field(description="Staff id of the clinician, or the participant's id")


class MarkGoalMet(Strict):
    recorded_by: Staff


class RequestReview(Strict):
    requested_by: Staff


class ResolveSafetyFlag(Strict):
    resolved_by: Staff
