"""The flow server's own settings (``CONTINUUM_WORKFLOW_*``): its identity (the confidential
client ``continuum-workflow`` of the issuer ``CONTINUUM_AUTH_ISSUER``) and where its flows call.
A flow run's parameters never say where it calls: the aftercare address is the flow server's."""

from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.security.settings import checked_url


class WorkflowSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CONTINUUM_WORKFLOW_")

    client_id: str = "continuum-workflow"
    client_secret: SecretStr | None = Field(default=None, description="The client's secret (or ..._FILE)")
    client_secret_file: Path | None = Field(default=None, description="A file holding the client's secret")
    aftercare_url: str | None = Field(default=None, description="Aftercare's API, e.g. http://127.0.0.1:8104")
    call_timeout_seconds: float = Field(default=15, gt=0, le=120)

    @field_validator("aftercare_url")
    @classmethod
    def _an_http_url(cls, value: str | None) -> str | None:
        checked = checked_url(value, "aftercare_url", "the flow server's token goes there")
        return checked.rstrip("/") if checked else None

    def secret(self) -> str:
        """The client secret, read from the file each time (a rotated mounted secret is picked up)."""
        if self.client_secret is not None:
            return self.client_secret.get_secret_value().strip()
        if self.client_secret_file is not None:
            return self.client_secret_file.read_text().strip()
        raise ValueError("no client secret")

    def refusals(self) -> list[str]:
        """What keeps the flow server from starting (empty: nothing)."""
        out = []
        if self.aftercare_url is None:
            out.append("no aftercare address: set CONTINUUM_WORKFLOW_AFTERCARE_URL")
        if self.client_secret is None and self.client_secret_file is None:
            out.append("no client secret: set CONTINUUM_WORKFLOW_CLIENT_SECRET or "
                       "CONTINUUM_WORKFLOW_CLIENT_SECRET_FILE")
        elif self.client_secret is None:
            try:
                self.secret()
            except OSError as exc:
                out.append(f"CONTINUUM_WORKFLOW_CLIENT_SECRET_FILE cannot be read: {self.client_secret_file} "
                           f"({exc.strerror})")
        return out
