"""The reminder adapters against a real local SMTP server (aiosmtpd): an email to the
participant's address, and a file record of ids only."""

import json
from datetime import UTC, datetime

import pytest
from aiosmtpd.controller import Controller

from deploy.processes import free_port
from services.aftercare.notifications import FileNotifier, Reminder, ReminderNotifier, ReminderNotSent, SmtpSender
from tests.support.smtp_collector import Collect

pytestmark = pytest.mark.integration


@pytest.fixture
def smtp():
    handler = Collect()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, handler
    controller.stop()


REMINDER = Reminder("p-abc", "fu-ep-1-d7", datetime(2026, 12, 8, 9, tzinfo=UTC), "sam@example.test")


async def test_a_reminder_with_an_address_goes_by_email_and_is_recorded_without_it(smtp, tmp_path):
    controller, handler = smtp
    notifier = ReminderNotifier(FileNotifier(tmp_path / "n.jsonl"),
                                SmtpSender("127.0.0.1", controller.port, "aftercare@continuum.test",
                                           security="plain"))
    assert await notifier.send_check_in_reminder(REMINDER) == "email"
    assert len(handler.messages) == 1
    mail = handler.messages[0]
    assert mail["To"] == "sam@example.test" and mail["From"] == "aftercare@continuum.test"
    assert "fu-ep-1-d7" in mail.get_payload() and "p-abc" not in mail.get_payload()
    record = json.loads((tmp_path / "n.jsonl").read_text())
    assert record["channel"] == "email" and record["follow_up_id"] == "fu-ep-1-d7"
    assert "sam@example.test" not in (tmp_path / "n.jsonl").read_text()


async def test_without_an_address_the_file_channel_is_used(smtp, tmp_path):
    controller, handler = smtp
    notifier = ReminderNotifier(FileNotifier(tmp_path / "n.jsonl"),
                                SmtpSender("127.0.0.1", controller.port, "a@b.c", security="plain"))
    no_address = Reminder("p-abc", "fu-ep-1-d30", REMINDER.due_at, None)
    assert await notifier.send_check_in_reminder(no_address) == "file"
    assert handler.messages == []
    assert json.loads((tmp_path / "n.jsonl").read_text())["channel"] == "file"


async def test_an_unreachable_smtp_server_fails_the_reminder(tmp_path):
    notifier = ReminderNotifier(FileNotifier(tmp_path / "n.jsonl"),
                                SmtpSender("127.0.0.1", free_port(), "a@b.c", timeout_s=2))
    with pytest.raises(ReminderNotSent) as refused:  # the dispatcher tries again later
        await notifier.send_check_in_reminder(REMINDER)
    assert REMINDER.email not in str(refused.value) and "try again later" in str(refused.value)
    assert not (tmp_path / "n.jsonl").exists()
