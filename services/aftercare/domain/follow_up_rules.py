"""Follow-up cadence, check-in outcome and the way back up. Pure."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from services.clinical_safety.screeners import CssrsAnswers, CssrsRisk, cssrs_risk
from services.clinical_safety.triage import SafetyFinding, combined, cssrs_finding, phq9_item9_finding
from services.contracts.codes import AftercareService, FollowUpStatus, LevelOfCare, RelapseRisk

DEFAULT_CADENCE_DAYS = (7, 30, 90, 180)


def follow_up_due_times(discharged_at: datetime, cadence_days: tuple[int, ...],
                        day_length: timedelta = timedelta(days=1),
                        tz: ZoneInfo | None = None) -> list[tuple[int, datetime]]:
    """(day offset, due time) per check-in. In calendar days (``day_length`` of one day) and the
    program's time zone ``tz``: 09:00 local on local day N after the discharge date (day 0), so an
    answer the same local day counts in the 7- and 30-day measures, which count local calendar days
    (HEDIS FUH/FUM: "within 7 days after discharge", the discharge date not counting). A shortened
    ``day_length`` (demos and tests) counts from the discharge instant instead."""
    from .measures import local_due_at

    days = sorted(set(cadence_days))
    if tz is not None and day_length == timedelta(days=1):
        return [(d, local_due_at(discharged_at.astimezone(UTC), d, tz)) for d in days]
    return [(d, discharged_at + d * day_length) for d in days]


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
    cssrs: CssrsAnswers | None = None  # the C-SSRS screener, when the check-in asks it

    @property
    def cssrs_positive(self) -> bool:
        return self.cssrs is not None and cssrs_risk(self.cssrs) is not CssrsRisk.NONE


def check_in_safety(c: CheckIn, now: datetime, scale: float = 1.0) -> SafetyFinding | None:
    """The check-in's safety finding by the shared triage table (PHQ-9 item 9, C-SSRS)."""
    return combined([phq9_item9_finding(c.phq9_item9, now, scale),
                     cssrs_finding(c.cssrs, now, scale) if c.cssrs is not None else None])


def check_in_status(c: CheckIn) -> FollowUpStatus:
    if c.substance_use_since_last_contact:
        return FollowUpStatus.RELAPSE
    if (c.phq9_total >= 10 or c.phq9_item9 > 0 or c.cssrs_positive or not c.engaged_with_step_down_provider
            or not (c.housing_stable and c.work_or_school_stable)):
        return FollowUpStatus.AT_RISK
    return FollowUpStatus.STABLE


def relapse_risk(status: FollowUpStatus, c: CheckIn) -> RelapseRisk | None:
    """Anything but stable, or PHQ-9 item 9 above 0 or a positive C-SSRS, is a step back up."""
    if c.phq9_item9 > 0 or c.cssrs_positive:
        return RelapseRisk.SAFETY
    if status is FollowUpStatus.RELAPSE:
        return RelapseRisk.RELAPSE
    if status is FollowUpStatus.AT_RISK:
        return RelapseRisk.AT_RISK
    return None
