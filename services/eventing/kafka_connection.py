"""How every Kafka client of this system connects, from KafkaSettings: PLAINTEXT by default;
TLS (verifying the broker against ``KAFKA_SSL_CAFILE``) and SASL/SCRAM when the settings say so.
One function per client library, so kafka-python, aiokafka and faust are configured alike."""

import ssl
from typing import Any

from aiokafka.helpers import create_ssl_context

from .settings import KafkaSettings


def uses_tls(kafka: KafkaSettings) -> bool:
    return kafka.security_protocol in ("SSL", "SASL_SSL")


def uses_sasl(kafka: KafkaSettings) -> bool:
    return kafka.security_protocol in ("SASL_PLAINTEXT", "SASL_SSL")


def ssl_context(kafka: KafkaSettings) -> ssl.SSLContext:
    """Verifies the broker's certificate and host name against the configured CA."""
    return create_ssl_context(cafile=str(kafka.ssl_cafile) if kafka.ssl_cafile else None)


def kafka_python_options(kafka: KafkaSettings) -> dict[str, Any]:
    """Keyword arguments for kafka-python's KafkaAdminClient, KafkaConsumer, KafkaProducer."""
    opts: dict[str, Any] = {"bootstrap_servers": kafka.bootstrap_servers,
                            "security_protocol": kafka.security_protocol}
    if uses_tls(kafka):
        opts["ssl_context"] = ssl_context(kafka)
    if uses_sasl(kafka):
        opts |= {"sasl_mechanism": kafka.sasl_mechanism, "sasl_plain_username": kafka.sasl_username,
                 "sasl_plain_password": kafka.sasl_password.get_secret_value()}
    return opts


def aiokafka_options(kafka: KafkaSettings) -> dict[str, Any]:
    """Keyword arguments for aiokafka's producer, consumer and admin client (the same names)."""
    return kafka_python_options(kafka)


def faust_credentials(kafka: KafkaSettings):
    """``broker_credentials`` for a faust app (None: plaintext)."""
    import faust  # only the services need faust; deploy/ uses the other two

    if uses_sasl(kafka):
        return faust.SASLCredentials(
            username=kafka.sasl_username, password=kafka.sasl_password.get_secret_value(),
            mechanism=kafka.sasl_mechanism, ssl_context=ssl_context(kafka) if uses_tls(kafka) else None)
    if uses_tls(kafka):
        return faust.SSLCredentials(ssl_context(kafka))
    return None
