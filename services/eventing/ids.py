"""New opaque identifiers: a readable prefix and a random part, nothing derived from a person."""

import uuid


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:16]}"
