"""The way back up: what a risk found at a check-in does to the follow-ups still ahead. Pure.

The rule is configuration (``CONTINUUM_AFTERCARE_REMAINING_FOLLOW_UPS_ON_RISK``): per risk,
``keep`` the remaining check-ins (the default: intake re-refers, and the follow-ups go on
until a readmission cancels them) or ``cancel`` them at once."""

from enum import StrEnum

from services.contracts.codes import RelapseRisk


class RemainingFollowUps(StrEnum):
    KEEP = "keep"
    CANCEL = "cancel"


DEFAULT_ON_RISK: dict[str, RemainingFollowUps] = {
    RelapseRisk.AT_RISK: RemainingFollowUps.KEEP,
    RelapseRisk.RELAPSE: RemainingFollowUps.KEEP,
    RelapseRisk.SAFETY: RemainingFollowUps.KEEP,
}


def remaining_follow_ups(risk: RelapseRisk | None, rule: dict[str, RemainingFollowUps]) -> RemainingFollowUps:
    if risk is None:
        return RemainingFollowUps.KEEP
    return RemainingFollowUps(rule.get(str(risk), DEFAULT_ON_RISK[risk]))


def is_readmission(admitted_to_iop: bool, assessed_episode_id: str, aftercare_episode_id: str) -> bool:
    """An admission to the IOP in another episode than the one aftercare follows up:
    the participant is back in care, so the pending check-ins of the old episode stop."""
    return admitted_to_iop and assessed_episode_id != aftercare_episode_id
