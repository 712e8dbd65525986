"""Reminder mail over TLS only, against real local SMTP servers (aiosmtpd) with a certificate of
a CA made for the test: STARTTLS and implicit TLS deliver when the certificate is trusted; an
untrusted certificate, or a server offering no STARTTLS, gets nothing (no fallback to plain).
And when aftercare may use plain SMTP at all: only in development, to a loopback server."""

import ssl
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from aiosmtpd.controller import Controller

from deploy.kafka_certs import issue
from deploy.processes import free_port
from services.aftercare.notifications import (
    FileNotifier,
    Reminder,
    ReminderNotifier,
    ReminderNotSent,
    SmtpSender,
    smtp_sender,
)
from services.eventing.settings import ContinuumSettings, StartRefused
from tests.support.smtp_collector import Collect

pytestmark = pytest.mark.integration

REMINDER = Reminder("p-abc", "fu-ep-1-d7", datetime(2026, 12, 8, 9, tzinfo=UTC), "sam@example.test")


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    files = issue(tmp_path_factory.mktemp("smtp-tls"))
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(files.broker)  # for 127.0.0.1 and localhost, signed by the test's CA
    return SimpleNamespace(ca=files.ca, server=server)


def serve(handler, **tls) -> Controller:
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), **tls)
    controller.start()
    return controller


def trusting(ca) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(ca))


async def send(sender: SmtpSender, tmp_path) -> str:
    return await ReminderNotifier(FileNotifier(tmp_path / "n.jsonl"), sender).send_check_in_reminder(REMINDER)


async def test_starttls_with_a_trusted_certificate_delivers(certificates, tmp_path):
    handler = Collect()
    controller = serve(handler, tls_context=certificates.server, require_starttls=True)
    try:
        sender = SmtpSender("127.0.0.1", controller.port, "a@b.c", security="starttls",
                            tls_context=trusting(certificates.ca))
        assert await send(sender, tmp_path) == "email" and len(handler.messages) == 1
        untrusted = SmtpSender("127.0.0.1", controller.port, "a@b.c", security="starttls")  # the system's CAs
        with pytest.raises(ReminderNotSent):
            await send(untrusted, tmp_path)
        assert len(handler.messages) == 1
    finally:
        controller.stop()


async def test_a_server_without_starttls_gets_nothing(tmp_path, certificates):
    handler = Collect()
    controller = serve(handler)
    try:
        sender = SmtpSender("127.0.0.1", controller.port, "a@b.c", security="starttls",
                            tls_context=trusting(certificates.ca))
        with pytest.raises(ReminderNotSent):
            await send(sender, tmp_path)
        assert handler.messages == [] and not (tmp_path / "n.jsonl").exists()
    finally:
        controller.stop()


async def test_implicit_tls_delivers_only_to_a_trusted_certificate(certificates, tmp_path):
    handler = Collect()
    controller = serve(handler, ssl_context=certificates.server)
    try:
        sender = SmtpSender("localhost", controller.port, "a@b.c", security="tls",
                            tls_context=trusting(certificates.ca))
        assert await send(sender, tmp_path) == "email" and len(handler.messages) == 1
        untrusted = SmtpSender("127.0.0.1", controller.port, "a@b.c", security="tls")  # the system's CAs
        with pytest.raises(ReminderNotSent):
            await send(untrusted, tmp_path)
        assert len(handler.messages) == 1
    finally:
        controller.stop()


def aftercare(host: str, security: str | None = None, cafile=None) -> SimpleNamespace:
    return SimpleNamespace(smtp_host=host, smtp_port=587, smtp_sender="a@b.c", smtp_timeout_seconds=5,
                           smtp_security=security, smtp_cafile=cafile)


def test_plain_smtp_only_in_development_to_a_loopback_server(certificates):
    development, production = ContinuumSettings(environment="development"), ContinuumSettings(environment="production")
    assert smtp_sender(aftercare("127.0.0.1"), development).security == "plain"  # the tests' local server
    assert smtp_sender(aftercare("mail.example"), development).security == "starttls"
    assert smtp_sender(aftercare("127.0.0.1"), production).security == "starttls"
    assert smtp_sender(aftercare("mail.example", "tls", certificates.ca), production).security == "tls"
    for host, base in (("127.0.0.1", production), ("mail.example", development)):
        with pytest.raises(StartRefused, match="plain SMTP only in development"):
            smtp_sender(aftercare(host, "plain"), base)
    with pytest.raises(StartRefused, match="SMTP_CAFILE cannot be read"):
        smtp_sender(aftercare("mail.example", cafile="/nonexistent/ca.pem"), production)
    assert smtp_sender(aftercare(None), production) is None
