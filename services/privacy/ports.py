"""The ports of key management: what sealing needs, whatever holds the keys (the local file
adapters here; a cloud KMS or an HSM would implement the same two protocols)."""

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class DataKey:
    """A participant's 256-bit data key, unwrapped, for the moment of one seal or open."""

    key_id: str
    participant_id: str
    material: bytes = field(repr=False)


@dataclass(frozen=True)
class ShreddedKey:
    key_id: str
    shredded_at: str


class KeyEncryptionKey(Protocol):
    """The master key: wraps and unwraps data keys; never leaves its holder."""

    @property
    def key_id(self) -> str: ...

    def wrap(self, data_key: bytes, associated_data: bytes) -> bytes: ...

    def unwrap(self, wrapped: bytes, associated_data: bytes) -> bytes: ...


class KeyManagement(Protocol):
    """Per-participant data keys: one live key per participant, created on first use.

    ``data_key`` raises ``KeyShredded`` for a shredded key and ``UnknownDataKey`` for a key
    it does not hold for that participant. ``shred`` deletes the participant's live key
    (a later seal makes a new one) and returns every key of the participant shredded so far."""

    def data_key_for(self, participant_id: str) -> DataKey: ...

    def data_key(self, key_id: str, participant_id: str) -> DataKey: ...

    def shred(self, participant_id: str) -> list[ShreddedKey]: ...
