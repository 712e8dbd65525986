"""The one place the tests take the headers that authenticate a call to a service's API.

Empty while the services have no authentication; once every route needs a bearer token
(issue 8), this returns ``{"Authorization": "Bearer <token for service>"}`` and every test
that uses it (the schemathesis run in tests/e2e/test_api_fuzz.py) sends it."""


def auth_headers(service: str) -> dict[str, str]:
    """Headers to send with every request to ``service`` (intake, planning, ...)."""
    return {}
