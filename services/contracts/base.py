"""The base of every event model and the decorator that registers one."""

from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Id = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
"""Opaque identifier: participant, plan, session ... ids. Never a name or a contact."""

SERVICES = ("intake", "planning", "scheduling", "aftercare")


class Actor(BaseModel):
    """Who did something, exactly as their access token said: the subject (the identity provider's
    id of the person or client) and the role that allowed the action. Never taken from a request body."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: Id = Field(description="The token's subject")
    role: Id = Field(description="The role of the token that allowed the action")


class Event(BaseModel):
    """An immutable fact one service announces. Past-tense names, versioned types.

    Unknown fields are ignored when reading so that producers may add optional
    fields within a version (tolerant reader); a breaking change is a new ``.vN``,
    with an upcaster from the older version's data (``upcasting``).
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    producer: ClassVar[str]
    event_type: ClassVar[str]
    version: ClassVar[int]

    participant_id: Id


_CATALOGUE: dict[str, type[Event]] = {}


def event(producer: str, name: str, version: int = 1):
    """Class decorator: give an event its CloudEvents type and add it to the catalogue."""
    if producer not in SERVICES:
        raise ValueError(f"unknown producer {producer!r}")

    def register(cls: type[Event]) -> type[Event]:
        cls.producer = producer
        cls.version = version
        cls.event_type = f"continuum.{producer}.{name}.v{version}"
        if cls.event_type in _CATALOGUE:
            raise ValueError(f"event type registered twice: {cls.event_type}")
        _CATALOGUE[cls.event_type] = cls
        return cls

    return register
