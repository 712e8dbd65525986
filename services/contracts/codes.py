"""Coded values shared by the events: levels of care, modalities, statuses."""

from enum import StrEnum


class LevelOfCare(StrEnum):
    """ASAM-style levels of care."""

    EARLY_INTERVENTION = "0.5"
    OUTPATIENT = "1"
    INTENSIVE_OUTPATIENT = "2.1"
    PARTIAL_HOSPITALISATION = "2.5"
    RESIDENTIAL_LOW = "3.1"
    RESIDENTIAL_HIGH = "3.5"
    MEDICALLY_MONITORED = "3.7"
    INPATIENT = "4"


class ReferralSource(StrEnum):
    SELF = "self"
    PROVIDER = "provider"
    EMERGENCY_DEPARTMENT = "emergency_department"
    INPATIENT_DISCHARGE = "inpatient_discharge"
    STEP_UP_FROM_AFTERCARE = "step_up_from_aftercare"


class AssessmentKind(StrEnum):
    INITIAL = "initial"
    REASSESSMENT = "reassessment"


class Instrument(StrEnum):
    PHQ9 = "phq9"
    GAD7 = "gad7"
    AUDIT_C = "audit_c"
    DAST10 = "dast10"
    CSSRS_SCREENER = "cssrs_screener"


class Finding(StrEnum):
    """Clinical findings of an assessment, as codes (the narrative stays in intake)."""

    DEPRESSIVE_SYMPTOMS = "depressive_symptoms"
    ANXIETY = "anxiety"
    ALCOHOL_USE = "alcohol_use"
    DRUG_USE = "drug_use"
    TRAUMA = "trauma"
    EMOTIONAL_DYSREGULATION = "emotional_dysregulation"
    STRESS = "stress"
    LOW_SOCIAL_SUPPORT = "low_social_support"
    SUICIDAL_IDEATION = "suicidal_ideation"


class Strength(StrEnum):
    CREATIVE = "creative"
    PHYSICAL = "physical"
    SOCIAL_SUPPORT = "social_support"
    EMPLOYMENT = "employment"
    MOTIVATION = "motivation"
    INSIGHT = "insight"


class Commitment(StrEnum):
    WORK = "work"
    SCHOOL = "school"
    FAMILY = "family"
    TRANSPORT = "transport"


class AttendanceMode(StrEnum):
    IN_PERSON = "in_person"
    TELEHEALTH = "telehealth"
    EITHER = "either"


class Modality(StrEnum):
    INDIVIDUAL_COUNSELLING = "individual_counselling"
    TRAUMA_INFORMED_INDIVIDUAL = "trauma_informed_individual"
    GROUP_CBT_SKILLS = "group_cbt_skills"
    GROUP_DBT_SKILLS = "group_dbt_skills"
    GROUP_RELAPSE_PREVENTION = "group_relapse_prevention"
    GROUP_PROCESS = "group_process"
    ART_THERAPY = "art_therapy"
    MINDFULNESS = "mindfulness"
    EXPERIENTIAL = "experiential"
    FAMILY_SESSION = "family_session"
    PEER_SUPPORT = "peer_support"
    MEDICATION_MANAGEMENT = "medication_management"
    PSYCHOEDUCATION = "psychoeducation"


class Discipline(StrEnum):
    CLINICIAN = "clinician"
    PSYCHIATRY = "psychiatry"
    CASE_MANAGEMENT = "case_management"
    PEER_SPECIALIST = "peer_specialist"
    CREATIVE_THERAPIST = "creative_therapist"


class WellbeingDomain(StrEnum):
    """What a holistic plan covers: every plan addresses each of these."""

    EMOTIONAL = "emotional"
    PHYSICAL = "physical"
    SOCIAL = "social"
    SELF_CARE = "self_care"
    STRESS_REDUCTION = "stress_reduction"
    EMOTIONAL_REGULATION = "emotional_regulation"


class SignerRole(StrEnum):
    CLINICIAN = "clinician"
    PARTICIPANT = "participant"


class Weekday(StrEnum):
    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"


class AsamDimension(StrEnum):
    """The six ASAM-style dimensions an assessment rates 0-4."""

    INTOXICATION_WITHDRAWAL = "d1_intoxication_withdrawal"
    BIOMEDICAL = "d2_biomedical"
    EMOTIONAL_BEHAVIOURAL = "d3_emotional_behavioural"
    READINESS_TO_CHANGE = "d4_readiness_to_change"
    RELAPSE_POTENTIAL = "d5_relapse_potential"
    RECOVERY_ENVIRONMENT = "d6_recovery_environment"


class RiskSeverity(StrEnum):
    MODERATE = "moderate"
    HIGH = "high"
    IMMINENT = "imminent"


class ReviewDecision(StrEnum):
    CONTINUE = "continue"
    REVISE = "revise"
    STEP_UP = "step_up"
    STEP_DOWN = "step_down"


class MissedReason(StrEnum):
    NO_SHOW = "no_show"
    CANCELLED_BY_PARTICIPANT = "cancelled_by_participant"
    CANCELLED_BY_PROGRAM = "cancelled_by_program"
    ILLNESS = "illness"
    TRANSPORT = "transport"
    OTHER = "other"


class AftercareService(StrEnum):
    OUTPATIENT_THERAPY = "outpatient_therapy"
    SUPPORT_GROUP = "support_group"
    MEDICATION_MANAGEMENT = "medication_management"
    PEER_RECOVERY_SUPPORT = "peer_recovery_support"


class FollowUpStatus(StrEnum):
    STABLE = "stable"
    AT_RISK = "at_risk"
    RELAPSE = "relapse"


class RelapseRisk(StrEnum):
    AT_RISK = "at_risk"
    RELAPSE = "relapse"
    SAFETY = "safety"


class SafetyDisposition(StrEnum):
    """What a safety finding calls for, from the triage table (services.clinical_safety.triage)."""

    EMERGENCY_EVALUATION = "emergency_evaluation"  # level 4 / emergency referral, now
    SAME_DAY_EVALUATION_FOR_HOSPITALISATION = "same_day_evaluation_for_hospitalisation"
    SAME_DAY_SUICIDE_RISK_ASSESSMENT = "same_day_suicide_risk_assessment"
    BEHAVIOURAL_HEALTH_EVALUATION = "behavioural_health_evaluation"
    SUICIDE_RISK_ASSESSMENT = "suicide_risk_assessment"


class SafetySource(StrEnum):
    """Where a safety-relevant answer was taken."""

    ASSESSMENT = "assessment"
    AFTERCARE_CHECK_IN = "aftercare_check_in"


class SafetyAction(StrEnum):
    """What a clinician did about a safety flag (SafetyFlagResolved.action_taken)."""

    SAFETY_PLAN = "safety_plan"
    CRISIS_EVALUATION = "crisis_evaluation"
    SAME_DAY_EVALUATION = "same_day_evaluation"
    EMERGENCY_REFERRAL = "emergency_referral"
    HOSPITALISATION = "hospitalisation"
    LEVEL_OF_CARE_CHANGE = "level_of_care_change"
    ASSESSED_NO_CURRENT_RISK = "assessed_no_current_risk"
