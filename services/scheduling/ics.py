"""iCalendar (RFC 5545) feeds of a participant's or a clinician's sessions, with the
icalendar library. Ids, modality and place only: no names, nothing clinical. Built from
the current schedule on each request, so a feed follows every change; a moved session
keeps its UID with a higher SEQUENCE, a cancelled one stays with STATUS:CANCELLED."""

from collections.abc import Iterable
from datetime import UTC, datetime

from icalendar import Calendar, Event

from .tables import Session

PRODID = "-//Continuum//scheduling//EN"


def feed(name: str, sessions: Iterable[Session], now: datetime | None = None) -> bytes:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    stamp = now or datetime.now(UTC)
    for s in sessions:
        ev = Event()
        ev.add("uid", f"{s.id}@continuum")
        ev.add("dtstamp", stamp)
        ev.add("dtstart", s.starts_at.astimezone(UTC))
        ev.add("dtend", s.ends_at.astimezone(UTC))
        ev.add("summary", s.modality.replace("_", " "))
        ev.add("location", s.place or ("telehealth" if s.mode == "telehealth" else "clinic"))
        ev.add("description", f"session {s.id}; participant {s.participant_id}; clinician {s.clinician_id}"
                              + (f"; group {s.group_id}" if s.group_id else ""))
        ev.add("sequence", s.revision or 0)
        ev.add("status", "CANCELLED" if s.status == "cancelled" else "CONFIRMED")
        ev.add("categories", [s.modality])
        cal.add_component(ev)
    return cal.to_ical()
