"""The one place the tests take the headers that authenticate a call to a service's API.

Every route but /health, /metrics and the dashboard page needs a bearer token: this one comes
from the stack's Keycloak (a user with every role but the privacy officer's, in a tenant of its own), so
the fuzzing reaches every route's handling as far as a care team, a scheduler, the flow server
and operations can (the privacy officer's erasure would shred the keys of the participants the
other tests read; /audit then answers its documented 403)."""

from services.security.roles import Role

FUZZ_ROLES = tuple(r for r in Role if r not in (Role.PRIVACY_OFFICER, Role.PARTICIPANT))
FUZZ_TENANT = "fuzz-network"  # a tenant of its own: what the fuzzer changes, no other test sees


def auth_headers(stack, service: str) -> dict[str, str]:
    """Headers to send with every request to ``service`` (intake, planning, ...) of ``stack``."""
    return stack.auth_headers(FUZZ_ROLES, tenant=FUZZ_TENANT, subject=f"fuzz-{service}")
