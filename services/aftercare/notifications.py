"""The notification port and its adapters. Every reminder is recorded as a JSON line of
ids and times (the default channel, and the audit of what was sent); when SMTP is
configured and the participant gave aftercare an address, it also goes out by email.
No name or address is written anywhere but the email itself.

Mail goes over TLS only: STARTTLS (the default) or implicit TLS, the server's certificate and
host name checked; a server that offers no STARTTLS gets nothing (never a fallback to plain).
Plain SMTP only in development, to a mail server on loopback (the tests' local server)."""

import asyncio
import json
import smtplib
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Literal, Protocol

from services.eventing.settings import ContinuumSettings, StartRefused
from services.security.settings import LOOPBACK_HOSTS

SmtpSecurity = Literal["starttls", "tls", "plain"]


class ReminderNotSent(OSError):
    """The mail server did not take the reminder (unreachable, refused): the dispatcher tries
    again later; nothing was recorded as sent."""


@dataclass(frozen=True)
class Reminder:
    participant_id: str
    follow_up_id: str
    due_at: datetime
    email: str | None = None  # from aftercare's contact store


class Notifier(Protocol):
    async def send_check_in_reminder(self, reminder: Reminder) -> str:
        """Sends it; returns the channel used ('email' or 'file'). Raises when it cannot."""
        ...


class FileNotifier:
    def __init__(self, path: Path):
        self.path = path

    def record(self, reminder: Reminder, channel: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as f:
            f.write(json.dumps({"kind": "check_in_reminder", "channel": channel,
                                "participant_id": reminder.participant_id,
                                "follow_up_id": reminder.follow_up_id, "due_at": reminder.due_at.isoformat(),
                                "sent_at": datetime.now(UTC).isoformat()}) + "\n")

    async def send_check_in_reminder(self, reminder: Reminder) -> str:
        self.record(reminder, "file")
        return "file"


class SmtpSender:
    def __init__(self, host: str, port: int, sender: str, timeout_s: float = 10, *,
                 security: SmtpSecurity = "starttls", tls_context: ssl.SSLContext | None = None):
        self.host, self.port, self.sender, self.timeout_s = host, port, sender, timeout_s
        self.security = security
        self.tls_context = tls_context or ssl.create_default_context()  # certificate and host name checked

    def message(self, to: str, reminder: Reminder) -> EmailMessage:
        msg = EmailMessage()
        msg["From"], msg["To"] = self.sender, to
        msg["Subject"] = "Your aftercare check-in is due"
        msg.set_content(
            "Hello,\n\nit is time for your aftercare check-in. Your care team would like to hear how "
            "you are doing: please reply to this message or call the program.\n\n"
            f"Check-in reference: {reminder.follow_up_id}\n\n"
            "If you are in crisis, call or text 988 (or your local emergency number) now.\n")
        return msg

    def send(self, to: str, reminder: Reminder) -> None:
        if self.security == "tls":
            with smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout_s, context=self.tls_context) as smtp:
                smtp.send_message(self.message(to, reminder))
            return
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout_s) as smtp:
            if self.security == "starttls":
                smtp.starttls(context=self.tls_context)  # no STARTTLS offered: SMTPNotSupportedError, nothing sent
            smtp.send_message(self.message(to, reminder))


def smtp_sender(settings, base: ContinuumSettings) -> SmtpSender | None:
    """The mail adapter of aftercare's settings (None: no SMTP host, reminders go to the file
    only). StartRefused for plain SMTP outside development or to a host not on loopback."""
    if not settings.smtp_host:
        return None
    local = settings.smtp_host in LOOPBACK_HOSTS
    security: SmtpSecurity = settings.smtp_security or ("plain" if base.is_development and local else "starttls")
    if security == "plain" and not (base.is_development and local):
        raise StartRefused(f"reminder mail without TLS (CONTINUUM_AFTERCARE_SMTP_SECURITY=plain) to "
                           f"{settings.smtp_host} in {base.environment}: plain SMTP only in development to a "
                           "loopback test server; use starttls or tls")
    context = None
    if security != "plain":
        try:
            context = ssl.create_default_context(cafile=str(settings.smtp_cafile) if settings.smtp_cafile else None)
        except OSError as exc:
            raise StartRefused(f"CONTINUUM_AFTERCARE_SMTP_CAFILE cannot be read: {settings.smtp_cafile} "
                               f"({exc.strerror})") from None
    return SmtpSender(settings.smtp_host, settings.smtp_port, settings.smtp_sender, settings.smtp_timeout_seconds,
                      security=security, tls_context=context)


class ReminderNotifier:
    """Email when possible, the file channel otherwise; every reminder recorded in the file."""

    def __init__(self, file: FileNotifier, smtp: SmtpSender | None = None):
        self.file, self.smtp = file, smtp

    async def send_check_in_reminder(self, reminder: Reminder) -> str:
        channel = "file"
        if self.smtp is not None and reminder.email:
            try:
                await asyncio.to_thread(self.smtp.send, reminder.email, reminder)
            except OSError as exc:  # smtplib's errors are OSErrors too; the address is never in the message
                raise ReminderNotSent(
                    f"the reminder email was not sent ({type(exc).__name__}); try again later") from exc
            channel = "email"
        self.file.record(reminder, channel)
        return channel
