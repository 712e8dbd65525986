"""The client side of a bearer token: the header a call to a service's API carries."""


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
