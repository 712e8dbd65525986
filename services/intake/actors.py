"""Who acts in intake: the caller's token, never a body. The roles of the identity provider
(services/security/roles.py) that are also staff roles of the assessment's sign-off rules
(domain/sections.py), and the choice, among a token's roles, of the one that allows an act."""

from services.contracts.base import Actor
from services.security.dependencies import Access
from services.security.roles import PERMISSIONS, Permission, Role
from services.web.refusals import NotPermitted

from .domain.sections import StaffRole

STAFF_ROLES: dict[Role, StaffRole] = {
    Role.CLINICIAN: StaffRole.CLINICIAN,
    Role.PSYCHIATRIST: StaffRole.PSYCHIATRIST,
    Role.CASE_MANAGER: StaffRole.CASE_MANAGER,
}
"""A token role -> the staff role it is for the sign-off rules. The other staff roles (physician,
nurse practitioner, addiction counsellor, peer specialist) have no role in the realm yet: a
network that grants them adds the realm role in roles.py and its line here."""


def staff_role(role: str) -> StaffRole | None:
    """The staff role of a token role name (None: not a staff role, e.g. scheduler)."""
    return STAFF_ROLES.get(Role(role)) if role in Role.__members__.values() else None


def acting_as(access: Access, allowed: frozenset[StaffRole], refusal: str) -> Actor:
    """The caller as the first of their token's roles that is one of the ``allowed`` staff roles
    (and grants assessment.write): that role is recorded as the actor's role, in the records,
    the events and the audit row. Else ``NotPermitted`` (403) saying what is needed."""
    for name in access.principal.roles:
        staff = staff_role(name)
        if staff in allowed and Permission.ASSESSMENT_WRITE in PERMISSIONS[Role(name)]:
            access.role = name
            return access.actor
    held = ", ".join(access.principal.roles) or "none"
    needed = ", ".join(sorted(r.value for r in allowed))
    raise NotPermitted(f"{refusal}: the token's role(s) {held} may not; it needs one of: {needed}",
                       roles=list(access.principal.roles), needs=sorted(r.value for r in allowed))
