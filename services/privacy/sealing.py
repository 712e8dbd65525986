"""Seal a participant's words into a ``SealedValue`` and open one again: AES-256-GCM under the
participant's data key, with the participant id and the field as associated data."""

import base64
import os
from dataclasses import dataclass
from enum import StrEnum

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from services.contracts.sealed import SealedValue

from .errors import KeyShredded, SealBroken, SealedValueUnavailable
from .ports import KeyManagement

NONCE_BYTES = 12


def associated_data(participant_id: str, field: str) -> bytes:
    """What a sealed value is bound to: opened for another participant or field, it fails."""
    return b"continuum.sealed.v1\x00" + participant_id.encode() + b"\x00" + field.encode()


def goal_field(goal_id: str) -> str:
    return f"goal:{goal_id}"


def seal(keys: KeyManagement, participant_id: str, field: str, text: str) -> SealedValue:
    key = keys.data_key_for(participant_id)
    nonce = os.urandom(NONCE_BYTES)
    ciphertext = AESGCM(key.material).encrypt(nonce, text.encode(), associated_data(participant_id, field))
    return SealedValue(key_id=key.key_id, nonce=base64.b64encode(nonce).decode(),
                       ciphertext=base64.b64encode(ciphertext).decode())


def open_sealed(keys: KeyManagement, participant_id: str, field: str, sealed: SealedValue) -> str:
    """The words, or ``KeyShredded`` / ``UnknownDataKey`` / ``SealBroken`` (all
    ``SealedValueUnavailable``)."""
    key = keys.data_key(sealed.key_id, participant_id)
    try:
        clear = AESGCM(key.material).decrypt(base64.b64decode(sealed.nonce), base64.b64decode(sealed.ciphertext),
                                             associated_data(participant_id, field))
    except (InvalidTag, ValueError):
        raise SealBroken(f"sealed {field} of participant {participant_id} does not authenticate") from None
    return clear.decode()


class Availability(StrEnum):
    AVAILABLE = "available"
    SHREDDED = "shredded"
    UNAVAILABLE = "unavailable"
    NOT_SENT = "not_sent"


@dataclass(frozen=True)
class OpenedText:
    text: str | None
    availability: Availability


def open_for_display(keys: KeyManagement, participant_id: str, field: str,
                     sealed: SealedValue | None) -> OpenedText:
    """For a reader that shows the words: never raises for a value it cannot open."""
    if sealed is None:
        return OpenedText(None, Availability.NOT_SENT)
    try:
        return OpenedText(open_sealed(keys, participant_id, field, sealed), Availability.AVAILABLE)
    except KeyShredded:
        return OpenedText(None, Availability.SHREDDED)
    except SealedValueUnavailable:
        return OpenedText(None, Availability.UNAVAILABLE)
