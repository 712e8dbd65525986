"""Settings from the environment (pydantic-settings). Defaults run everything on
loopback with SQLite files under ``data/``."""

from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_PORTS = {"intake": 8101, "planning": 8102, "scheduling": 8103, "aftercare": 8104, "operations": 8105}
DEVELOPMENT_ENVIRONMENTS = ("development", "test")
"""Chosen explicitly (``make run`` and the tests set ``CONTINUUM_ENVIRONMENT=development``):
generated secrets, plaintext Kafka and plain SMTP to a local server are allowed only there."""


class StartRefused(RuntimeError):
    """The configuration does not let a service start (a missing or unsafe secret, no token issuer,
    an unencrypted connection outside development): the process says why and exits 2 before it
    touches Kafka or its database."""


class KafkaSettings(BaseSettings):
    """``KAFKA_BOOTSTRAP_SERVERS`` points at an existing cluster; unset, deploy/ starts one.
    PLAINTEXT by default; ``KAFKA_SECURITY_PROTOCOL=SASL_SSL`` with ``KAFKA_SASL_USERNAME``,
    ``KAFKA_SASL_PASSWORD`` (SCRAM-SHA-512 unless ``KAFKA_SASL_MECHANISM`` says otherwise) and
    ``KAFKA_SSL_CAFILE`` (the CA that signed the broker's certificate) for a secured cluster.
    Every client is configured from these (services.eventing.kafka_connection)."""

    model_config = SettingsConfigDict(env_prefix="KAFKA_")

    bootstrap_servers: str = "127.0.0.1:19092"
    connect_timeout_s: float = Field(default=10.0, gt=0)
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"] = "SCRAM-SHA-512"
    sasl_username: str = ""
    sasl_password: SecretStr = SecretStr("")
    ssl_cafile: Path | None = None
    create_topics: bool = Field(default=True, description="False where an administrator creates the "
                                "topics (a secured cluster: services have no CREATE right)")


class ContinuumSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CONTINUUM_")

    environment: Literal["development", "test", "production"] = Field(
        default="production", description="production unless development or test is chosen explicitly "
        "(fail closed: an unset environment gets no development conveniences)")
    data_dir: Path = Path("data")
    topic_prefix: str = Field(default="", description="Prefix on every topic and group id")
    topic_partitions: int = Field(default=6, ge=1)
    log_level: str = "INFO"
    max_request_bytes: int = Field(default=64 * 1024, ge=1024,
                                   description="Larger request bodies are refused with 413")
    kafka_allow_plaintext: bool = Field(default=False, description="Outside development, a Kafka "
                                        "connection without TLS (PLAINTEXT, SASL_PLAINTEXT) is refused unless "
                                        "this says it is allowed (CONTINUUM_KAFKA_ALLOW_PLAINTEXT=true)")

    @property
    def is_development(self) -> bool:
        return self.environment in DEVELOPMENT_ENVIRONMENTS


def refuse_plaintext_kafka(settings: ContinuumSettings, kafka: KafkaSettings) -> None:
    """Outside development a service talks to Kafka over TLS, unless plaintext is explicitly allowed."""
    if kafka.security_protocol in ("PLAINTEXT", "SASL_PLAINTEXT") and not (
            settings.is_development or settings.kafka_allow_plaintext):
        raise StartRefused(
            f"Kafka without TLS (KAFKA_SECURITY_PROTOCOL={kafka.security_protocol}) in {settings.environment}: "
            "set KAFKA_SECURITY_PROTOCOL=SSL or SASL_SSL (with KAFKA_SSL_CAFILE), or allow plaintext explicitly "
            "with CONTINUUM_KAFKA_ALLOW_PLAINTEXT=true")


class ServiceSettings(BaseSettings):
    """Per-service settings: ``CONTINUUM_<SERVICE>_HTTP_PORT``, ``..._DATABASE_URL``."""

    model_config = SettingsConfigDict(extra="ignore")

    http_host: str = "127.0.0.1"
    http_port: int = 0
    database_url: str = ""


def service_settings(service: str, base: ContinuumSettings | None = None) -> ServiceSettings:
    base = base or ContinuumSettings()
    s = ServiceSettings(_env_prefix=f"CONTINUUM_{service.upper()}_")
    if not s.http_port:
        s.http_port = DEFAULT_PORTS[service]
    if not s.database_url:
        s.database_url = f"sqlite+aiosqlite:///{(base.data_dir / f'{service}.db').resolve()}"
    return s


class ProgramTimeZones(BaseModel):
    """The programs' time zones, for settings that count a program's local calendar days
    (aftercare's follow-up measures and due times, operations' follow-up figures)."""

    time_zone: str = Field(default="America/New_York",
                           description="The program's time zone: follow-up measures count its calendar days")
    time_zone_by_program: dict[str, str] = Field(default_factory=dict,
                                                 description='A program\'s own, e.g. {"adult-mh": "Australia/Sydney"}')

    @model_validator(mode="after")
    def _known_time_zones(self):
        for name in (self.time_zone, *self.time_zone_by_program.values()):
            try:
                ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"time_zone: unknown time zone {name!r}") from None
        return self

    def zone_of(self, program_id: str | None) -> ZoneInfo:
        return ZoneInfo(self.time_zone_by_program.get(program_id or "", self.time_zone))
