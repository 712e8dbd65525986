"""Measurement-based progress reviews: from scores, attendance, goals and safety flags to a
decision — continue, revise, step up or ready for step-down — with the criteria met and the
reasons, as codes. Thresholds come from the program's configuration. Pure.

PHQ-9 rules and their sources:
- response (>= 50% drop) and remission (< 5) count only from a baseline of 10 or more: the
  HEDIS depression measures (DSF/DRR: remission and response are measured for members whose
  baseline PHQ-9 is > 9). A participant with a lower baseline is never stepped down on them.
- worsening: +5 points is the PHQ-9's reliable/clinically important change (Kroenke 2001;
  Loewe et al. 2004): from the baseline -> step up; from the previous or the best score (the
  baseline still above it) -> revise, the plan is reviewed.
- a score of 20 or more (the 'severe' band, Kroenke 2001) -> revise whatever the baseline."""

from dataclasses import dataclass

from services.contracts.codes import LevelOfCare, ReviewDecision, RiskSeverity

from .plan_rules import ProgramRules

# criteria codes (ReadyForStepDown.reason_codes, ProgressReviewed.criteria_met)
RESPONSE = "phq9_response"
REMISSION = "phq9_remission"
ALL_GOALS_MET = "all_goals_met"
ATTENDANCE = "attendance_share_met"
MIN_SESSIONS = "min_sessions_attended"
NO_SAFETY_FLAG = "no_open_safety_flag"


@dataclass(frozen=True)
class ReviewInputs:
    phq9_baseline: int | None
    phq9_latest: int | None
    sessions_attended: int
    sessions_missed: int
    goals_total: int
    goals_met: int
    open_safety_flags: tuple[RiskSeverity, ...]
    weeks_in_treatment: float
    phq9_previous: int | None = None  # the score before the latest (the baseline at the first re-assessment)
    phq9_best: int | None = None      # the lowest score so far, the baseline included

    def measurable(self, t) -> bool:
        """Response and remission are measured only from a baseline of ``t.measurable_baseline_at_least``."""
        return self.phq9_baseline is not None and self.phq9_baseline >= t.measurable_baseline_at_least

    @property
    def attendance_rate(self) -> float:
        recorded = self.sessions_attended + self.sessions_missed
        return self.sessions_attended / recorded if recorded else 0.0

    @property
    def phq9_change(self) -> int | None:
        if self.phq9_baseline is None or self.phq9_latest is None:
            return None
        return self.phq9_latest - self.phq9_baseline


@dataclass(frozen=True)
class ReviewOutcome:
    decision: ReviewDecision
    criteria_met: tuple[str, ...]
    reason_codes: tuple[str, ...]
    recommended_level: LevelOfCare | None


def criteria_met(i: ReviewInputs, program: ProgramRules) -> tuple[str, ...]:
    t = program.review
    met = []
    if (i.measurable(t) and i.phq9_baseline is not None and i.phq9_latest is not None
            and i.phq9_baseline - i.phq9_latest >= t.response_drop * i.phq9_baseline):
        met.append(RESPONSE)
    if i.measurable(t) and i.phq9_latest is not None and i.phq9_latest < t.remission_below:
        met.append(REMISSION)
    if i.goals_total and i.goals_met >= i.goals_total:
        met.append(ALL_GOALS_MET)
    if i.sessions_attended + i.sessions_missed and i.attendance_rate >= t.min_attendance_share:
        met.append(ATTENDANCE)
    if i.sessions_attended >= t.min_sessions_attended:
        met.append(MIN_SESSIONS)
    if not i.open_safety_flags:
        met.append(NO_SAFETY_FLAG)
    return tuple(met)


def review(i: ReviewInputs, program: ProgramRules) -> ReviewOutcome:
    """Step up beats step-down beats revise beats continue."""
    t = program.review
    met = criteria_met(i, program)
    change = i.phq9_change

    step_up = []
    if any(s is not RiskSeverity.MODERATE for s in i.open_safety_flags):
        step_up.append("safety_risk_high")
    if change is not None and change >= t.worsening_increase:
        step_up.append("phq9_worsening")
    if step_up:
        if i.phq9_latest is not None and i.phq9_latest >= t.severe_at_least:
            step_up.append("phq9_severe")
        return ReviewOutcome(ReviewDecision.STEP_UP, met, tuple(step_up), program.step_up_to)

    improved = [c for c in met if c in t.step_down_requires_any_of]
    if improved and {ATTENDANCE, MIN_SESSIONS, NO_SAFETY_FLAG} <= set(met):
        return ReviewOutcome(ReviewDecision.STEP_DOWN, met, tuple(improved), program.step_down_to)

    revise = []
    if i.open_safety_flags:
        revise.append("safety_flag_open")
    recorded = i.sessions_attended + i.sessions_missed
    if recorded >= t.min_sessions_attended and ATTENDANCE not in met:
        revise.append("attendance_below_threshold")
    if i.phq9_latest is not None and i.phq9_latest >= t.severe_at_least:
        revise.append("phq9_severe")
    for code, earlier in (("phq9_worsening_since_previous", i.phq9_previous),
                          ("phq9_worsening_since_best", i.phq9_best)):
        if earlier is not None and i.phq9_latest is not None and i.phq9_latest - earlier >= t.worsening_increase:
            revise.append(code)
    if change is not None and change > 0:
        revise.append("phq9_rising")
    elif (i.phq9_latest is not None and i.weeks_in_treatment >= t.no_response_after_weeks and i.measurable(t)
          and RESPONSE not in met and REMISSION not in met):
        revise.append("no_response")
    if revise:
        return ReviewOutcome(ReviewDecision.REVISE, met, tuple(revise), None)

    waiting = []
    if not improved:
        if i.phq9_baseline is not None and not i.measurable(t):
            waiting.append("phq9_baseline_below_10")  # no step-down on response or remission from it
        waiting.append("awaiting_response" if i.phq9_latest is not None else "awaiting_reassessment")
    if MIN_SESSIONS not in met:
        waiting.append("awaiting_attendance")
    return ReviewOutcome(ReviewDecision.CONTINUE, met, tuple(waiting), None)
