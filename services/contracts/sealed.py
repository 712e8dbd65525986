"""A value sealed for one participant: how words that identify or describe a person travel
in events (envelope encryption; see ``services/privacy``). Only a holder of the
participant's data key can open it; once that key is shredded, nobody can."""

from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from .base import Id

Base64 = Annotated[str, StringConstraints(min_length=4, max_length=200_000, pattern=r"^[A-Za-z0-9+/]+={0,2}$")]

SEALING_ALGORITHM: Final = "AES-256-GCM"


class SealedValue(BaseModel):
    """UTF-8 text encrypted with AES-256-GCM under the participant's data key.

    The associated data (authenticated, not sent) binds the ciphertext to the event's
    ``participant_id`` and to the field it fills (e.g. ``goal:<goal_id>``): moved to another
    participant or another field, it no longer opens. A reader without the key, or after
    the key was shredded, still has every id and code of the event: only the words are gone."""

    model_config = ConfigDict(frozen=True, json_schema_extra={"examples": [{
        "algorithm": SEALING_ALGORITHM, "key_id": "dk-3f9a0c1e5b7d2a48",
        "nonce": "q83vEjRWeJASNFZ4", "ciphertext": "2xYy0mE1jRwH8bP6Qd9z0c4fV1s7aG3kLw=="}]})

    algorithm: Literal["AES-256-GCM"] = Field(default=SEALING_ALGORITHM, description="The cipher")
    key_id: Id = Field(description="The participant's data key that sealed it (the key itself never travels)")
    nonce: Base64 = Field(description="The 96-bit GCM nonce, base64")
    ciphertext: Base64 = Field(description="The ciphertext with its 128-bit GCM tag appended, base64")
