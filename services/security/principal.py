"""Who is calling, as their token says: a subject (user id), roles, and the participant scope
(one tenant, some programs)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Principal:
    subject: str
    roles: tuple[str, ...]
    tenant: str
    programs: tuple[str, ...]
    participant_id: str | None = None
    """Set only for a participant's own session: the participant the token speaks for."""

    def in_scope(self, tenant_id: str | None, program_id: str | None) -> bool:
        """A participant is visible only in the caller's own tenant and one of their programs."""
        return tenant_id == self.tenant and program_id in self.programs
