"""Follow-up cadence, check-in outcome and the way back up. Pure."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from services.contracts.codes import AftercareService, FollowUpStatus, LevelOfCare, RelapseRisk

DEFAULT_CADENCE_DAYS = (7, 30, 90, 180)


def follow_up_due_times(discharged_at: datetime, cadence_days: tuple[int, ...],
                        day_length: timedelta = timedelta(days=1)) -> list[tuple[int, datetime]]:
    """(day offset, due time) per check-in. ``day_length`` shortens days for demos and tests."""
    return [(d, discharged_at + d * day_length) for d in sorted(set(cadence_days))]


def step_down_services(level: LevelOfCare) -> tuple[AftercareService, ...]:
    if level in (LevelOfCare.OUTPATIENT, LevelOfCare.EARLY_INTERVENTION):
        return (AftercareService.OUTPATIENT_THERAPY, AftercareService.SUPPORT_GROUP,
                AftercareService.PEER_RECOVERY_SUPPORT)
    return (AftercareService.OUTPATIENT_THERAPY, AftercareService.MEDICATION_MANAGEMENT)


@dataclass(frozen=True)
class CheckIn:
    phq9_total: int
    phq9_item9: int
    substance_use_since_last_contact: bool
    engaged_with_step_down_provider: bool
    housing_stable: bool
    work_or_school_stable: bool


def check_in_status(c: CheckIn) -> FollowUpStatus:
    if c.substance_use_since_last_contact:
        return FollowUpStatus.RELAPSE
    if (c.phq9_total >= 10 or c.phq9_item9 > 0 or not c.engaged_with_step_down_provider
            or not (c.housing_stable and c.work_or_school_stable)):
        return FollowUpStatus.AT_RISK
    return FollowUpStatus.STABLE


def relapse_risk(status: FollowUpStatus, c: CheckIn) -> RelapseRisk | None:
    """Anything but stable, or PHQ-9 item 9 above 0, is a step back up."""
    if c.phq9_item9 > 0:
        return RelapseRisk.SAFETY
    if status is FollowUpStatus.RELAPSE:
        return RelapseRisk.RELAPSE
    if status is FollowUpStatus.AT_RISK:
        return RelapseRisk.AT_RISK
    return None
