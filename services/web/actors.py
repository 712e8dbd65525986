"""Who acts in a command: the token's subject and the role that allowed it (``Access.actor``),
never a field of the request body. A subject that cannot be recorded as an id (the events'
``Id``: 1-64 of A-Z a-z 0-9 _ . : -) is refused with 403 rather than failing later."""

from fastapi import HTTPException
from pydantic import ValidationError

from services.contracts.base import Actor
from services.security.dependencies import Access


def actor(access: Access) -> Actor:
    try:
        return access.actor
    except ValidationError:
        raise HTTPException(403, "the token's subject (sub) is not an id the records can hold "
                                 "(1-64 of A-Z a-z 0-9 _ . : -)") from None
