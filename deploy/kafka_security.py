"""The local broker's security mode: SASL/SCRAM-SHA-512 over TLS for clients and between
brokers, one principal per service (deploy/kafka_acls.py), mutual TLS on the loopback
controller listener (only the broker's own certificate gets in), ACLs enforced by KRaft's
StandardAuthorizer with nothing allowed that no ACL allows.

Everything secret is made once per deployment in ``<kafka data dir>/security`` (files
readable by the owner only, never committed): the CA and broker certificate
(deploy/kafka_certs.py) and a random password per principal, registered as SCRAM credentials
when the storage is formatted."""

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from services.eventing.settings import KafkaSettings

from .kafka_acls import ADMIN, PRINCIPALS
from .kafka_certs import BROKER_CN, TlsFiles, issue

MECHANISM = "SCRAM-SHA-512"


@dataclass
class KafkaSecurity:
    directory: Path

    @property
    def tls(self) -> TlsFiles:
        return TlsFiles(self.directory / "ca.pem", self.directory / "broker.pem")

    @property
    def credentials_file(self) -> Path:
        return self.directory / "credentials.json"

    def prepare(self, storage_formatted: bool) -> None:
        """Make the certificates and passwords if missing. Passwords reach the broker only when
        its storage is formatted, so a storage formatted without them cannot be secured."""
        if not self.credentials_file.exists():
            if storage_formatted:
                raise RuntimeError(
                    f"the Kafka storage in {self.directory.parent} was formatted without security: "
                    "start the secure broker on a fresh data directory")
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            data = json.dumps({p: secrets.token_hex(24) for p in PRINCIPALS}, indent=1).encode()
            fd = os.open(self.credentials_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
        if not self.tls.exist:
            issue(self.directory)

    def passwords(self) -> dict[str, str]:
        return json.loads(self.credentials_file.read_text())

    def format_args(self) -> list[str]:
        """StorageTool arguments registering every principal's SCRAM credential."""
        return [a for user, pw in self.passwords().items()
                for a in ("--add-scram", f"{MECHANISM}=[name={user},password={pw}]")]

    def broker_properties(self, port: int, controller_port: int) -> dict[str, str]:
        """The server.properties entries that replace or extend the plaintext ones."""
        jaas = (f'org.apache.kafka.common.security.scram.ScramLoginModule required '
                f'username="{ADMIN}" password="{self.passwords()[ADMIN]}";')
        return {
            "listeners": f"SASL_SSL://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
            "advertised.listeners": f"SASL_SSL://127.0.0.1:{port}",
            "listener.security.protocol.map": "SASL_SSL:SASL_SSL,CONTROLLER:SSL",
            "inter.broker.listener.name": "SASL_SSL",
            "sasl.enabled.mechanisms": MECHANISM,
            "sasl.mechanism.inter.broker.protocol": MECHANISM,
            f"listener.name.sasl_ssl.{MECHANISM.lower()}.sasl.jaas.config": jaas,
            "ssl.keystore.type": "PEM",
            "ssl.keystore.location": str(self.tls.broker),
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": str(self.tls.ca),
            "listener.name.controller.ssl.client.auth": "required",
            "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            "super.users": f"User:{ADMIN};User:CN={BROKER_CN}",
            "allow.everyone.if.no.acl.found": "false",
        }

    def client_settings(self, principal: str, bootstrap: str) -> KafkaSettings:
        """How ``principal`` connects (only the admin creates topics)."""
        return KafkaSettings(bootstrap_servers=bootstrap, security_protocol="SASL_SSL", sasl_mechanism=MECHANISM,
                             sasl_username=principal, sasl_password=self.passwords()[principal],
                             ssl_cafile=self.tls.ca, create_topics=principal == ADMIN)

    def client_env(self, principal: str) -> dict[str, str]:
        """The same as environment variables, for a service's process."""
        s = self.client_settings(principal, "")
        return {"KAFKA_SECURITY_PROTOCOL": s.security_protocol, "KAFKA_SASL_MECHANISM": s.sasl_mechanism,
                "KAFKA_SASL_USERNAME": s.sasl_username, "KAFKA_SASL_PASSWORD": s.sasl_password.get_secret_value(),
                "KAFKA_SSL_CAFILE": str(s.ssl_cafile), "KAFKA_CREATE_TOPICS": str(s.create_topics).lower()}


def with_properties(lines: list[str], overrides: dict[str, str]) -> list[str]:
    """server.properties lines with ``overrides`` replacing the entries of the same key
    (in place) and the others appended."""
    out, seen = [], set()
    for line in lines:
        key = line.split("=", 1)[0]
        if key in overrides:
            out.append(f"{key}={overrides[key]}")
            seen.add(key)
        else:
            out.append(line)
    return out + [f"{k}={v}" for k, v in overrides.items() if k not in seen]
