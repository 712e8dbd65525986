"""Scheduling's own settings (environment, prefix ``CONTINUUM_SCHEDULING_``)."""

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.eventing.settings import ContinuumSettings


class SchedulingSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CONTINUUM_SCHEDULING_")

    horizon_weeks: int = Field(default=2, ge=1, le=12, description="Plan weeks placed ahead")
    check_in_opens_minutes: int = Field(default=60, ge=0,
                                        description="How long before its start a session accepts check-in")
    attendance_any_time: bool | None = Field(
        default=None, description="Accept check-in and attendance for sessions far in the future "
        "(the demo and the end-to-end tests attend at once). Unset: true outside production.")

    def any_time(self) -> bool:
        if self.attendance_any_time is not None:
            return self.attendance_any_time
        return ContinuumSettings().environment != "production"
