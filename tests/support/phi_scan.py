"""Looks for PHI in clear in what a Kafka subscriber sees: the actual names, birth dates,
contact details and words a cohort submitted, and anything shaped like an email address, a
phone number or a birth date. Sealed values (``SealedValue``) are taken out first: their
random base64 may spell anything, and only their holders can read them."""

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from deploy.demo_cohort import assessment, reassessment, referral

SEALED_KEYS = {"algorithm", "key_id", "nonce", "ciphertext"}
PHI_KEYS = {"name", "given_name", "family_name", "date_of_birth", "dob", "email", "phone", "address", "text",
            "note", "notes", "narrative", "reason", "symptoms", "challenges", "medical_history", "medications",
            "history", "living_situation", "words"}
"""Keys that, in an event, may hold only a sealed value — or, for ``reason``, a code."""
CODE_KEYS = {"reason"}  # e.g. SessionMissed's reason: a MissedReason code, never words
CODE = re.compile(r"[a-z][a-z0-9_.-]{0,63}")

NARRATIVE_FIELDS = {"reason", "symptoms", "challenges", "medical_history", "medications", "history",
                    "living_situation", "note", "text"}
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
PHONE = re.compile(r"\+\d{1,3}[ ()-]*\d(?:[ ()-]*\d){6,}")
"""International form (national forms look like the digits of the UUIDs every event carries)."""
BIRTH_DATE = re.compile(r"\b(?:19\d\d|200\d)-[01]\d-[0-3]\d\b")
"""An ISO date in a year someone in care now was born (events' own dates are recent)."""
BASE64_RUN = re.compile(r"[A-Za-z0-9+/]{16,}={0,2}")


@dataclass
class KnownPhi:
    """What people submitted: names match as whole words, the rest as substrings."""

    names: set[str] = field(default_factory=set)
    phrases: set[str] = field(default_factory=set)

    def add_request(self, body: dict) -> None:
        """Every identifying or free-text value of a referral or an assessment request."""
        person = body.get("participant", {})
        self.names |= {person[k] for k in ("given_name", "family_name") if person.get(k)}
        self.phrases |= {str(person[k]) for k in ("date_of_birth", "email", "phone") if person.get(k)}
        for value in _walk_items(body):
            key, v = value
            if key in NARRATIVE_FIELDS and isinstance(v, str) and v:
                self.phrases.add(v)

    def found_in(self, text: str) -> list[str]:
        leaks = [p for p in self.phrases if p in text]
        leaks += [n for n in self.names if re.search(rf"\b{re.escape(n)}\b", text)]
        for shape in (EMAIL, PHONE, BIRTH_DATE):
            leaks += shape.findall(text)
        return leaks


def cohort_phi(indexes: Iterable[int]) -> KnownPhi:
    """The PHI of demo-cohort participants (deploy.demo_cohort): referral, assessment, re-assessment."""
    known = KnownPhi()
    for i in indexes:
        known.add_request(referral(i))
        known.add_request(assessment(i))
        known.add_request(reassessment(i, [0] * 9))
    return known


def is_sealed(value) -> bool:
    return isinstance(value, dict) and set(value) == SEALED_KEYS and value.get("algorithm") == "AES-256-GCM"


def without_sealed(value):
    """The value with every sealed value replaced by a marker."""
    if is_sealed(value):
        return "<sealed>"
    if isinstance(value, dict):
        return {k: without_sealed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_sealed(v) for v in value]
    return value


def sealed_values(value) -> Iterator[dict]:
    if is_sealed(value):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from sealed_values(v)
    elif isinstance(value, list):
        for v in value:
            yield from sealed_values(v)


def clear_phi_keys(value, path: str = "") -> list[str]:
    """Paths where a PHI-named key holds anything but a sealed value (or a list of them)."""
    found = []
    if isinstance(value, dict):
        for k, v in value.items():
            here = f"{path}.{k}"
            code = k in CODE_KEYS and isinstance(v, str) and CODE.fullmatch(v)
            if k in PHI_KEYS and not (is_sealed(v) or v in (None, "", []) or code):
                found.append(here)
            elif not is_sealed(v):
                found += clear_phi_keys(v, here)
    elif isinstance(value, list):
        for n, v in enumerate(value):
            found += clear_phi_keys(v, f"{path}[{n}]")
    return found


def scannable_text(value: bytes | None, headers: dict[str, bytes]) -> tuple[str, object | None]:
    """A record as text with its sealed values taken out, and its JSON when it is JSON.
    Headers and non-JSON values (dead letters' reasons, poison) have long base64 runs masked."""
    head = " ".join(f"{k}={BASE64_RUN.sub('<b64>', v.decode('utf-8', 'replace'))}" for k, v in headers.items())
    raw = (value or b"").decode("utf-8", "replace")
    try:
        doc = json.loads(raw)
    except ValueError:
        return head + " " + BASE64_RUN.sub("<b64>", raw), None
    return head + " " + json.dumps(without_sealed(doc), ensure_ascii=False), doc


def _walk_items(value) -> Iterator[tuple[str, object]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield k, v
            yield from _walk_items(v)
    elif isinstance(value, list):
        for v in value:
            yield from _walk_items(v)
