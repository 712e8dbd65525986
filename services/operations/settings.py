"""Operations' own settings (environment, prefix ``CONTINUUM_OPERATIONS_``): the programs' time
zones, whose calendar days the dashboard's 7- and 30-day follow-up figures count (set them as
aftercare's ``CONTINUUM_AFTERCARE_TIME_ZONE``/``_TIME_ZONE_BY_PROGRAM``), and the identity
provider's client the dashboard page signs in with."""

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.eventing.settings import ProgramTimeZones


class OperationsSettings(ProgramTimeZones, BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CONTINUUM_OPERATIONS_")

    dashboard_client_id: str = Field(default="continuum-dashboard", description="The public OIDC client "
                                     "(authorization code + PKCE) the dashboard page signs in with")
