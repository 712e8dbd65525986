"""A real local SMTP server's handler (aiosmtpd) that keeps what it received in ``.messages``."""

from aiosmtpd.handlers import Message


class Collect(Message):
    def __init__(self):
        super().__init__()
        self.messages = []

    def handle_message(self, message):
        self.messages.append(message)
