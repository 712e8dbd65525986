"""The requests clinicians and participants make of planning, as validated models (the API's
request bodies). Who revises, signs, records a goal met, asks for a review or resolves a flag is
the caller's token (``Access.actor``): no body names anyone, and a body that still sends
``revised_by``, ``signer_id``, ``recorded_by``, ``requested_by`` or ``resolved_by`` is refused
(422 naming the field)."""


from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator

from services.contracts.base import Id
from services.contracts.codes import AttendanceMode, Discipline, Modality, SignerRole, WellbeingDomain
from services.contracts.events_planning import PlanSignatureKind
from services.web.request_types import Window

CODE = r"^[a-z0-9_]{1,64}$"


class Strict(BaseModel):
    """Unknown fields are refused (422 naming them); numbers must be JSON numbers, not strings."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class InterventionChange(Strict):
    intervention_id: Id | None = Field(default=None, description="Keep an intervention's id; omit for a new one")
    modality: Modality
    sessions_per_week: StrictInt = Field(ge=1, le=14)
    minutes: StrictInt = Field(ge=15, le=240)
    discipline: Discipline
    problem_ids: list[Id] = Field(default_factory=list, max_length=30)
    wellbeing_domains: list[WellbeingDomain] | None = Field(
        default=None, max_length=len(WellbeingDomain),
        description="Defaults to what the program's template for the modality covers")


class RevisePlan(Strict):
    base_version: StrictInt = Field(ge=1, description="The version this edit was made on (optimistic concurrency)")
    reason_code: str = Field(pattern=CODE, description="Why, as a code, e.g. 'review_revise', 'participant_request'")
    note: str | None = Field(default=None, max_length=4000, description="Kept in planning; never put in events")
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
    """A clinician's signature (``role: clinician``), or the participant's signature on paper that
    the clinician witnessed (``role: participant, kind: witnessed_paper_signature``). A participant
    signs in their own session (``POST /me/plans/{plan_id}/versions/{version}/signature``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"examples": [
        {"role": "clinician"}, {"role": "participant", "kind": "witnessed_paper_signature"}]})
    role: SignerRole = Field(description="Whose signature: the clinician's own, or the participant's")
    kind: PlanSignatureKind = Field(
        default=PlanSignatureKind.OWN_SESSION,
        description="own_session for the clinician's own signature; witnessed_paper_signature for the "
                    "participant's signature on paper, witnessed and recorded by the clinician")


class SignOwnPlan(Strict):
    """The participant's own signature: no body needed (an empty object is accepted)."""


class MarkGoalMet(Strict):
    """Recorded by the caller: no body needed (an empty object is accepted)."""


class RequestReview(Strict):
    """Asked for by the caller: no body needed (an empty object is accepted)."""


class ResolveSafetyFlag(Strict):
    """Resolved by the caller: no body needed (an empty object is accepted)."""
