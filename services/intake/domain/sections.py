"""The assessment as team work: its sections by discipline, who may sign each, and what
an assessment needs before it can complete. Pure."""

from enum import StrEnum

from services.contracts.codes import AssessmentKind, Instrument


class Section(StrEnum):
    CLINICAL_INTERVIEW = "clinical_interview"
    PSYCHIATRIC_MEDICAL = "psychiatric_medical"
    SUBSTANCE_USE = "substance_use"
    PSYCHOSOCIAL = "psychosocial"


class StaffRole(StrEnum):
    CLINICIAN = "clinician"
    PSYCHIATRIST = "psychiatrist"
    PHYSICIAN = "physician"
    NURSE_PRACTITIONER = "nurse_practitioner"
    ADDICTION_COUNSELLOR = "addiction_counsellor"
    CASE_MANAGER = "case_manager"
    PEER_SPECIALIST = "peer_specialist"


SIGNING_ROLES: dict[Section, frozenset[StaffRole]] = {
    Section.CLINICAL_INTERVIEW: frozenset({StaffRole.CLINICIAN, StaffRole.PSYCHIATRIST}),
    Section.PSYCHIATRIC_MEDICAL: frozenset({StaffRole.PSYCHIATRIST, StaffRole.PHYSICIAN,
                                            StaffRole.NURSE_PRACTITIONER}),
    Section.SUBSTANCE_USE: frozenset({StaffRole.ADDICTION_COUNSELLOR, StaffRole.CLINICIAN,
                                      StaffRole.PSYCHIATRIST}),
    Section.PSYCHOSOCIAL: frozenset({StaffRole.CASE_MANAGER}),
}

# Who may complete an assessment, and override its level-of-care recommendation.
DECIDING_ROLES = frozenset({StaffRole.CLINICIAN, StaffRole.PSYCHIATRIST})

REQUIRED_SECTIONS: dict[AssessmentKind, tuple[Section, ...]] = {
    AssessmentKind.INITIAL: tuple(Section),
    # a re-assessment during treatment: the clinician's interview; the other sections carry over
    AssessmentKind.REASSESSMENT: (Section.CLINICAL_INTERVIEW,),
}

# the same instruments every time, so scores compare across the episode
REQUIRED_INSTRUMENTS: tuple[Instrument, ...] = tuple(Instrument)


class WrongRole(PermissionError):
    def __init__(self, section: Section, role: StaffRole):
        allowed = ", ".join(sorted(r.value for r in SIGNING_ROLES[section]))
        super().__init__(f"a {role.value} may not sign the {section.value} section; it needs one of: {allowed}")


def check_may_sign(section: Section, role: StaffRole) -> None:
    if role not in SIGNING_ROLES[section]:
        raise WrongRole(section, role)


def missing_for_completion(kind: AssessmentKind, signed: set[Section],
                           scored: set[Instrument]) -> tuple[list[Section], list[Instrument]]:
    """The required sections not yet signed and the instruments not yet scored."""
    return ([s for s in REQUIRED_SECTIONS[kind] if s not in signed],
            [i for i in REQUIRED_INSTRUMENTS if i not in scored])
