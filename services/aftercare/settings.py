"""Aftercare's own settings: follow-up cadence and where reminders go."""

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from .domain.follow_up_rules import DEFAULT_CADENCE_DAYS


class AftercareSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CONTINUUM_AFTERCARE_")

    follow_up_days: tuple[int, ...] = Field(default=DEFAULT_CADENCE_DAYS,
                                            description="Check-in days after discharge, e.g. [7,30,90,180]")
    day_length_seconds: float = Field(default=86400, gt=0,
                                      description="Shorten a 'day' for demos and tests; 86400 in production")
    notifications_file: Path | None = None
