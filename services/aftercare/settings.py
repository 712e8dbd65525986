"""Aftercare's own settings (environment, prefix ``CONTINUUM_AFTERCARE_``): the follow-up
cadence per program, the grace window, escalation of missed check-ins (unanswered safety
flags escalate by ``services.clinical_safety.settings``), the rule for the remaining follow-ups
after a risk, the program's time zone
(the measures' calendar days), and where reminders go (a file of ids always; email when SMTP
is configured and the participant gave aftercare an address)."""

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.eventing.settings import ProgramTimeZones

from .domain.follow_up_rules import DEFAULT_CADENCE_DAYS
from .domain.step_up import RemainingFollowUps


class AftercareSettings(ProgramTimeZones, BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CONTINUUM_AFTERCARE_")

    follow_up_days: tuple[int, ...] = Field(default=DEFAULT_CADENCE_DAYS,
                                            description="Check-in days after discharge, e.g. [7,30,90,180]")
    follow_up_days_by_program: dict[str, tuple[int, ...]] = Field(
        default_factory=dict, description='A program\'s own cadence, e.g. {"iop-adult-mh": [7,14,30,90]}')
    day_length_seconds: float = Field(default=86400, gt=0,
                                      description="Shorten a 'day' for demos and tests; 86400 in production")
    grace_days: float = Field(default=3, gt=0,
                              description="No response this long after a check-in is due: missed")
    escalation_roles: tuple[str, ...] = Field(
        default=("care_coordinator", "clinical_supervisor", "program_director"),
        description="Who the outreach task goes to for the 1st, 2nd, 3rd+ miss in a row")
    escalation_response_hours: tuple[float, ...] = Field(default=(72, 24, 8),
                                                         description="Response time per escalation level")
    remaining_follow_ups_on_risk: dict[str, RemainingFollowUps] = Field(
        default_factory=dict,
        description='Per risk (at_risk, relapse, safety): keep (default) or cancel the remaining check-ins')
    notifications_file: Path | None = None
    smtp_host: str | None = Field(default=None, description="Set to send reminders by email")
    smtp_port: int = 25
    smtp_sender: str = "aftercare@continuum.invalid"
    smtp_timeout_seconds: float = 10
    smtp_security: Literal["starttls", "tls", "plain"] | None = Field(
        default=None, description="starttls (default; port 587) or tls (implicit, port 465), the server's "
        "certificate and name checked; plain only in development to a loopback test server (the default there)")
    smtp_cafile: Path | None = Field(default=None, description="CA bundle the mail server's certificate is checked "
                                     "against (default: the system's)")

    @model_validator(mode="after")
    def _one_response_time_per_role(self):
        if len(self.escalation_roles) != len(self.escalation_response_hours) or not self.escalation_roles:
            raise ValueError("escalation_roles and escalation_response_hours need the same, non-zero length")
        return self

    @property
    def time_scale(self) -> float:
        """1 in production; below 1 when a 'day' is shortened for demos and tests (safety flags'
        response and escalation windows shrink with it)."""
        return min(1.0, self.day_length_seconds / 86400)
