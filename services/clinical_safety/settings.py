"""The escalation ladder of unacknowledged safety flags, for every service that owns flags
(environment, prefix ``CONTINUUM_SAFETY_``)."""

from datetime import timedelta

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .flags import EscalationLadder


class SafetySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CONTINUUM_SAFETY_")

    escalation_roles: tuple[str, ...] = Field(
        default=("on_call_clinician", "clinical_supervisor", "program_director"),
        description="Who an unacknowledged safety flag goes to at its 1st, 2nd, 3rd deadline")
    escalation_response_minutes: tuple[float, ...] = Field(
        default=(30, 30, 60), description="How long each escalation level has before the next")
    sweep_seconds: float | None = Field(
        default=None, gt=0, description="How often the owning service looks for overdue flags; default 60 s, "
        "1 s when time is scaled down")
    time_scale: float = Field(default=1, gt=0, le=1, description="Shrinks response and escalation windows "
                              "(demos and tests; aftercare takes it from its day length)")

    @model_validator(mode="after")
    def _one_window_per_role(self):
        if len(self.escalation_roles) != len(self.escalation_response_minutes) or not self.escalation_roles:
            raise ValueError("escalation_roles and escalation_response_minutes need the same, non-zero length")
        return self

    def ladder(self, scale: float | None = None) -> EscalationLadder:
        s = self.time_scale if scale is None else scale
        return EscalationLadder(self.escalation_roles,
                                tuple(timedelta(minutes=m) * s for m in self.escalation_response_minutes))

    def interval(self, scale: float | None = None) -> float:
        s = self.time_scale if scale is None else scale
        return self.sweep_seconds or (60.0 if s >= 1 else 1.0)
