"""The notification port and its default adapter: reminders as JSON lines in a file
(no PHI: ids and times only; the message a person receives is composed by the channel)."""

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol


class Notifier(Protocol):
    def send_check_in_reminder(self, participant_id: str, follow_up_id: str, due_at: datetime) -> None: ...


class FileNotifier:
    def __init__(self, path: Path):
        self.path = path

    def send_check_in_reminder(self, participant_id: str, follow_up_id: str, due_at: datetime) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as f:
            f.write(json.dumps({"kind": "check_in_reminder", "participant_id": participant_id,
                                "follow_up_id": follow_up_id, "due_at": due_at.isoformat(),
                                "sent_at": datetime.now(UTC).isoformat()}) + "\n")
