"""A synthetic demo cohort driven through the HTTP APIs only: made-up people referred,
assessed, attending their first sessions, re-assessed, stepping down into aftercare."""

import random
from dataclasses import dataclass, field
from pathlib import Path

from . import api_client as api
from .api_client import Urls

GIVEN = ["Ada", "Ben", "Cleo", "Dev", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jun", "Kai", "Lia", "Max",
         "Nia", "Oto", "Pia", "Quin", "Rae", "Sol", "Tao", "Uma", "Vic", "Wren", "Xan", "Yui", "Zed"]
FAMILY = ["Demo", "Sample", "Example", "Placeholder", "Fictive"]

EVENINGS = [{"day": d, "start": "17:30", "end": "21:30"} for d in ("mon", "tue", "wed", "thu", "fri")]
WEEKENDS = [{"day": d, "start": "08:30", "end": "18:00"} for d in ("sat", "sun")] + [
    {"day": "wed", "start": "16:00", "end": "21:30"}]
DAYTIME = [{"day": d, "start": "09:30", "end": "15:30"} for d in ("tue", "wed", "thu")] + [
    {"day": "mon", "start": "16:00", "end": "18:00"}]
PROFILES = [("evenings", EVENINGS, ["work"]), ("weekends", WEEKENDS, ["family", "work"]),
            ("daytime", DAYTIME, ["school"])]


OWN_GOALS = ["Sleep through the night without waking at four", "Walk the dog round the park every morning",
             "Call my sister once a week", "Go back to the choir on Thursdays", "Cook a proper meal most days",
             "Stop drinking on weeknights", "Finish the evening course I dropped", "Take the bus on my own again"]
REASONS = ["Panic attacks at work since the spring", "Low mood and not sleeping after a bereavement",
           "Drinking more since losing the job at the depot", "Referred after an overdose in the winter"]


def referral(i: int, tenant: str = "demo-network", program: str = "adult-mh") -> dict:
    """A made-up person with made-up contact details (reserved example domain and drama numbers)."""
    rng = random.Random(i)
    given, family = GIVEN[i % len(GIVEN)], rng.choice(FAMILY)
    person = {"given_name": given, "family_name": family,
              "date_of_birth": f"{1970 + rng.randint(0, 35)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}"}
    if i % 3:
        person["email"] = f"{given.lower()}.{family.lower()}{i}@example.org"
    if i % 2:
        person["phone"] = f"+44 20 7946 0{i % 1000:03d}"
    return {"tenant_id": tenant, "program_id": program,
            "source": rng.choice(["self", "provider", "emergency_department", "inpatient_discharge"]),
            "participant": person, "reason": f"{REASONS[i % len(REASONS)]} ({given})"}


def _instruments(i: int, phq9: list[int], gad7: list[int], cssrs: dict, audit: list[int], dast: list[bool]) -> dict:
    return {"phq9": {"items": phq9}, "gad7": {"items": gad7},
            "audit_c": {"items": audit, "sex": "female" if i % 2 else "male"},
            "dast10": {"answers": dast}, "cssrs_screener": {**cssrs}}


NO_RISK = {"q1": False, "q2": False, "q6": False}
HIGH_RISK = {"q1": True, "q2": True, "q3": True, "q4": True, "q5": False, "q6": False}


def assessment(i: int) -> dict:
    """The bodies of one assessment (no one named in them: who records, signs and completes is
    the token of the client that sends them, see ``api_client.assess``).
    Most participants are IOP-appropriate; every tenth is below threshold and is referred out,
    and participant 7 has a high-risk safety finding (C-SSRS intent; PHQ-9 item 9)."""
    rng = random.Random(1000 + i)
    _, windows, commitments = PROFILES[i % len(PROFILES)]
    below = i % 10 == 9
    if below:
        phq9, gad7 = [0, 1, 0, 1, 0, 0, 1, 0, 0], [0, 1, 0, 0, 1, 0, 0]
    else:
        phq9 = [rng.randint(1, 3) for _ in range(8)] + [0]
        gad7 = [rng.randint(0, 3) for _ in range(7)]
    if i == 7:
        phq9[8] = 2
    findings = rng.sample(["alcohol_use", "drug_use", "trauma", "emotional_dysregulation", "low_social_support",
                           "stress"], k=rng.randint(0, 2)) if not below else []
    audit = [rng.randint(1, 3), rng.randint(0, 2), rng.randint(0, 1)] if "alcohol_use" in findings else [1, 0, 0]
    dast = [True, False, True, rng.random() < 0.5, True] + [False] * 5 if "drug_use" in findings else \
        [False, False, True] + [False] * 7
    return {
        "kind": "initial",
        "sections": {
            "clinical_interview": {
                "symptoms": f"Low mood most days for {2 + i % 5} months",
                "challenges": f"Isolating from friends; money worries ({i})",
                "findings": findings, "goals": [{"text": "Get back to a steady routine"},
                                                {"text": OWN_GOALS[i % len(OWN_GOALS)]}],
                "strengths": rng.sample(["creative", "physical", "social_support", "employment"], k=1),
                "readiness_to_change": "action" if below else rng.choice(["action", "preparation", "contemplation"])},
            "psychiatric_medical": {
                "medical_history": f"Asthma since childhood ({i})",
                "medications": "Sertraline 50 mg daily",
                "medical_stability": "no_concerns" if below else rng.choice(["no_concerns", "stable_chronic"]),
                "psychiatric_stability": "stable" if below else "moderate"},
            "substance_use": {
                "history": f"Drinks alone most evenings ({i})",
                "withdrawal_risk": "mild" if "alcohol_use" in findings else "none"},
            "psychosocial": {
                "availability": windows, "commitments": commitments,
                "attendance_mode": "in_person", "living_situation": f"Lives with a partner and two children ({i})",
                "recovery_environment": "supportive" if below else
                rng.choice(["supportive", "mostly_supportive", "limited_support"])},
        },
        "instruments": _instruments(i, phq9, gad7, HIGH_RISK if i == 7 else NO_RISK, audit, dast),
        "completion": {},
    }


IMPROVED_PHQ9 = [1, 1, 0, 0, 0, 0, 0, 0, 0]
"""A re-assessment PHQ-9 of 2: remission (< 5) and, from any IOP baseline, a response (>= 50% drop)."""


def reassessment(i: int, phq9: list[int], gad7: list[int] | None = None) -> dict:
    """A re-assessment during treatment with the same instruments (new PHQ-9 and GAD-7
    scores): the clinician's interview again; the other sections carry over."""
    initial = assessment(i)
    instruments = {**initial["instruments"]}
    instruments["phq9"] = {**instruments["phq9"], "items": phq9}
    instruments["gad7"] = {**instruments["gad7"], "items": gad7 or [0] * 7}
    instruments["cssrs_screener"] = {**instruments["cssrs_screener"], **NO_RISK}
    for q in ("q3", "q4", "q5"):
        instruments["cssrs_screener"].pop(q, None)
    return {**initial, "kind": "reassessment", "instruments": instruments,
            "sections": {"clinical_interview": initial["sections"]["clinical_interview"]}}


@dataclass
class Participant:
    index: int
    participant_id: str = ""
    stage: str = "new"
    level: str = ""
    hours: float = 0
    attended: int = 0
    follow_ups: int = 0
    reassessed: bool = False
    notes: list[str] = field(default_factory=list)


class DemoCohort:
    """Drives the cohort one step at a time (``admit`` once, then ``step`` repeatedly)."""

    def __init__(self, urls: Urls, size: int = 20, attend_sessions: int = 3, data_dir: Path | None = None):
        self.urls = urls
        self.people = [Participant(i) for i in range(size)]
        self.attend_sessions = attend_sessions
        self.http = api.client(api.CARE_TEAM, data_dir=data_dir)  # the care team's front end, demo tenant

    def admit(self) -> None:
        for p in self.people:
            p.participant_id = api.refer(self.http, self.urls, referral(p.index))["participant_id"]
            p.stage = "referred"
            outcome = api.assess(self.http, self.urls, p.participant_id, assessment(p.index))
            p.level = outcome["recommended_level_of_care"]
            p.stage = "assessed" if outcome["admitted_to_iop"] else "referred out"
            if outcome["safety_flagged"]:
                p.notes.append("safety flag")

    def step(self) -> None:
        """Refresh where everyone stands, and record attendance where sessions are waiting."""
        for p in self.people:
            if p.stage not in ("referred out", "new"):
                self._advance(p)

    def _advance(self, p: Participant) -> None:
        pid = p.participant_id
        if p.stage == "assessed" and api.plan(self.http, self.urls, pid):
            p.stage = "planned"
        if p.stage in ("planned", "scheduled", "attending"):
            booked = api.sessions(self.http, self.urls, pid)
            if booked:
                p.hours = booked["hours_scheduled"]
                p.attended = sum(s["status"] == "attended" for s in booked["sessions"])
                p.stage = "attending" if p.attended else "scheduled"
                waiting = [s for s in booked["sessions"] if s["status"] == "scheduled"]
                if p.attended < self.attend_sessions and waiting:
                    api.attend(self.http, self.urls, waiting[0]["session_id"])
                elif p.attended >= self.attend_sessions and not p.reassessed:
                    # step-down is measurement-based: a re-assessment showing response and remission
                    api.assess(self.http, self.urls, pid, reassessment(p.index, phq9=IMPROVED_PHQ9))
                    p.reassessed = True
        if p.stage in ("attending", "aftercare"):
            care = api.aftercare(self.http, self.urls, pid)
            if care:
                p.follow_ups = sum(f["flow_runs"] == "scheduled" for f in care["follow_ups"])
                p.stage = "aftercare"

    def done(self) -> bool:
        return all(p.stage in ("referred out", "aftercare") and (p.stage != "aftercare" or p.follow_ups)
                   for p in self.people)

    def close(self) -> None:
        self.http.close()
