"""Why a sealed value cannot be opened. Callers that show words catch
``SealedValueUnavailable`` and show them as unavailable; nothing here carries the words."""

from services.eventing.settings import StartRefused


class SealedValueUnavailable(Exception):
    """The value cannot be opened (the reason is the subclass)."""


class KeyShredded(SealedValueUnavailable):
    """The participant's data key was deleted (crypto-shredding): the value is gone for good."""

    def __init__(self, key_id: str, shredded_at: str):
        super().__init__(f"data key {key_id} was shredded at {shredded_at}")
        self.key_id, self.shredded_at = key_id, shredded_at


class UnknownDataKey(SealedValueUnavailable):
    """No data key of that id for that participant in this deployment's key store."""


class SealBroken(SealedValueUnavailable):
    """The key is there but the value does not authenticate: tampered with, or sealed for
    another participant or another field."""


class MasterKeyMissing(StartRefused):
    """Outside development and test the master key is provisioned, never generated."""
