"""The roles and what each may do: the one place the permission matrix is written down.

permission          routes                                                       roles
referral.create     intake POST /referrals                                       clinician, psychiatrist, case_manager,
                                                                                 care_coordinator, integration_client
participant.read    intake GET /participants/{id} (ids, codes, scores)           the same
assessment.read     intake GET an assessment, a participant's assessments        clinician, psychiatrist, case_manager
assessment.write    intake open, record, sign, score, complete an assessment     clinician, psychiatrist, case_manager
                    (which sections a role signs, and who completes: intake's
                    sign-off rules, services/intake/domain/sections.py; the
                    psychiatric/medical section needs psychiatrist)
plan.read           planning GET /participants/{id}/plan                         clinician, psychiatrist, case_manager,
                                                                                 care_coordinator
plan.write          planning revisions, the clinician's signature, a witnessed   clinician, psychiatrist
                    paper signature of the participant, goals met, reviews,
                    safety-flag resolution
plan.read_own       planning GET /me/plan: the participant's own plan only       participant
plan.sign_own       planning POST /me/plans/{id}/versions/{v}/signature: the     participant
                    participant signs their own plan, in their own session
sessions.read       scheduling sessions, hours, iCalendar feeds, GET /calendar   clinician, psychiatrist, case_manager,
                                                                                 scheduler, care_coordinator
attendance.write    scheduling check-in, attendance, cancellation of a session   clinician, case_manager, scheduler
availability.write  scheduling PUT availability                                  case_manager, scheduler
staffing.write      scheduling clinician absences, cancelled group meetings,     scheduler
                    PUT /calendar
aftercare.read      aftercare GET /participants/{id}/aftercare, outreach tasks   clinician, psychiatrist, case_manager,
                                                                                 care_coordinator
aftercare.write     aftercare relapse-prevention plan, reminder contact,         clinician, case_manager,
                    check-in answers                                             care_coordinator
aftercare_plan.confirm aftercare POST .../aftercare/confirmation: staff record    clinician, case_manager,
                    it as witnessed (attested_by); the participant's own         care_coordinator, participant
                    session records their own (their participant_id only)
safety_flag.read    intake and aftercare GET /safety-flags (each its own flags)  clinician, psychiatrist, case_manager,
                                                                                 care_coordinator
safety_flag.respond intake and aftercare: acknowledge and resolve a safety flag clinician, psychiatrist
follow_up.run       aftercare POST /follow-ups/{id}/open and /grace-check        workflow
measures.read       aftercare GET /measures/follow-up (aggregates)               operations, care_coordinator
dashboard.read      operations GET /api/figures, /api/consumer-lag (aggregates)  operations
audit.read          GET /audit on every service                                  privacy_officer
participant.erase   intake DELETE /participants/{id}/data-key (crypto-shredding) privacy_officer

Two roles beyond the people of the care team: ``workflow`` is the follow-up flow server (Prefect)
opening check-ins and checking grace windows, nothing else; ``privacy_officer`` reads the audit
trail and erases a participant's sealed words (crypto-shredding), nothing else. ``operations``
reads aggregates only, never a participant's record; a ``scheduler`` reads and changes sessions
but never an assessment or a plan. A ``participant`` (a participant's own session: the token's
``participant_id``) reads and signs their own plan and confirms their own aftercare plan, nothing
else; no other role signs as them.
/health, /metrics, /docs and the dashboard page need no token
(no participant data)."""

from enum import StrEnum


class Role(StrEnum):
    CLINICIAN = "clinician"
    PSYCHIATRIST = "psychiatrist"
    CASE_MANAGER = "case_manager"
    SCHEDULER = "scheduler"
    CARE_COORDINATOR = "care_coordinator"
    OPERATIONS = "operations"
    INTEGRATION_CLIENT = "integration_client"
    WORKFLOW = "workflow"
    PRIVACY_OFFICER = "privacy_officer"
    PARTICIPANT = "participant"


class Permission(StrEnum):
    REFERRAL_CREATE = "referral.create"
    PARTICIPANT_READ = "participant.read"
    ASSESSMENT_READ = "assessment.read"
    ASSESSMENT_WRITE = "assessment.write"
    PLAN_READ = "plan.read"
    PLAN_WRITE = "plan.write"
    PLAN_READ_OWN = "plan.read_own"
    PLAN_SIGN_OWN = "plan.sign_own"
    SESSIONS_READ = "sessions.read"
    ATTENDANCE_WRITE = "attendance.write"
    AVAILABILITY_WRITE = "availability.write"
    STAFFING_WRITE = "staffing.write"
    AFTERCARE_READ = "aftercare.read"
    AFTERCARE_WRITE = "aftercare.write"
    SAFETY_FLAG_READ = "safety_flag.read"
    SAFETY_FLAG_RESPOND = "safety_flag.respond"
    FOLLOW_UP_RUN = "follow_up.run"
    MEASURES_READ = "measures.read"
    DASHBOARD_READ = "dashboard.read"
    AUDIT_READ = "audit.read"
    PARTICIPANT_ERASE = "participant.erase"
    AFTERCARE_PLAN_CONFIRM = "aftercare_plan.confirm"


P = Permission
_CARE_TEAM_READS = {P.PARTICIPANT_READ, P.PLAN_READ, P.SESSIONS_READ, P.AFTERCARE_READ, P.SAFETY_FLAG_READ}

PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.CLINICIAN: frozenset(_CARE_TEAM_READS | {P.AFTERCARE_PLAN_CONFIRM,
        P.REFERRAL_CREATE, P.ASSESSMENT_READ, P.ASSESSMENT_WRITE, P.PLAN_WRITE, P.ATTENDANCE_WRITE,
        P.AFTERCARE_WRITE, P.SAFETY_FLAG_RESPOND}),
    Role.PSYCHIATRIST: frozenset(_CARE_TEAM_READS | {
        P.REFERRAL_CREATE, P.ASSESSMENT_READ, P.ASSESSMENT_WRITE, P.PLAN_WRITE, P.SAFETY_FLAG_RESPOND}),
    Role.CASE_MANAGER: frozenset(_CARE_TEAM_READS | {
        P.REFERRAL_CREATE, P.ASSESSMENT_READ, P.ASSESSMENT_WRITE, P.ATTENDANCE_WRITE, P.AVAILABILITY_WRITE,
        P.AFTERCARE_WRITE, P.AFTERCARE_PLAN_CONFIRM}),
    Role.SCHEDULER: frozenset({P.SESSIONS_READ, P.ATTENDANCE_WRITE, P.AVAILABILITY_WRITE, P.STAFFING_WRITE}),
    Role.CARE_COORDINATOR: frozenset(_CARE_TEAM_READS | {P.REFERRAL_CREATE, P.AFTERCARE_WRITE,
                                                            P.AFTERCARE_PLAN_CONFIRM, P.MEASURES_READ}),
    Role.OPERATIONS: frozenset({P.DASHBOARD_READ, P.MEASURES_READ}),
    Role.INTEGRATION_CLIENT: frozenset({P.REFERRAL_CREATE, P.PARTICIPANT_READ}),
    Role.WORKFLOW: frozenset({P.FOLLOW_UP_RUN}),
    Role.PRIVACY_OFFICER: frozenset({P.AUDIT_READ, P.PARTICIPANT_ERASE}),
    # their own plan only (participant_id)
    Role.PARTICIPANT: frozenset({P.PLAN_READ_OWN, P.PLAN_SIGN_OWN, P.AFTERCARE_PLAN_CONFIRM}),
}


def granting_role(roles: tuple[str, ...], permission: Permission) -> Role | None:
    """The first of a token's roles that grants ``permission`` (recorded in the audit trail);
    None when none does. Unknown role names grant nothing."""
    for name in roles:
        if name in Role.__members__.values() and permission in PERMISSIONS[Role(name)]:
            return Role(name)
    return None
