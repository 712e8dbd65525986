"""Every route of every running service, table-driven: 401 without a token or with an invalid or
expired one (with WWW-Authenticate), 403 for a role the matrix does not grant, and 404 for a
participant outside the caller's tenant or programs, exactly as for one that does not exist.
Then tenant isolation: tenant B's clinician neither sees nor changes tenant A's participant,
and no list, measure or figure of B shows A."""

from dataclasses import dataclass

import httpx
import pytest

from deploy import api_client as api
from deploy.demo_cohort import EVENINGS, assessment, referral
from services.aftercare.api import CONFIRM_PLAN
from services.security.roles import PERMISSIONS, Permission, Role

from .trust_support import ALL_ROLES, Journey, expired_token, foreign_token, take_through_care

pytestmark = pytest.mark.e2e

TENANT_A, TENANT_B = "demo-network", "other-network"
FAKE = "p-doesnotexist0000"


@dataclass(frozen=True)
class Route:
    service: str
    method: str
    template: str            # as in the service's OpenAPI document
    permission: Permission
    path: str                # with the journey's ids
    body: dict | None = None
    real_id: str | None = None   # the participant-scoped id in the path (404 outside the scope)


def routes(j: Journey) -> list[Route]:
    a = assessment(3)
    check_in = {"phq9_total": 3, "phq9_item9": 0, "substance_use_since_last_contact": False,
                "engaged_with_step_down_provider": True, "housing_stable": True, "work_or_school_stable": True}
    rpp = {"triggers": ["t"], "warning_signs": ["w"], "coping_strategies": ["c"],
           "supports": [{"name": "n"}], "crisis_resources": ["r"]}
    P = Permission
    pid, aid, plan, sid, fid = j.participant_id, j.assessment_id, j.plan_id, j.session_id, j.follow_up_id
    return [
        Route("intake", "POST", "/referrals", P.REFERRAL_CREATE, "/referrals", referral(1)),
        Route("intake", "POST", "/participants/{participant_id}/assessments", P.ASSESSMENT_WRITE,
              f"/participants/{pid}/assessments", {"kind": "reassessment"}, pid),
        *[r for section, content in a["sections"].items() for r in (
            Route("intake", "PUT", f"/assessments/{{assessment_id}}/sections/{section}", P.ASSESSMENT_WRITE,
                  f"/assessments/{aid}/sections/{section}", content, aid),
            Route("intake", "POST", f"/assessments/{{assessment_id}}/sections/{section}/signature",
                  P.ASSESSMENT_WRITE, f"/assessments/{aid}/sections/{section}/signature",
                  {}, aid))],
        *[Route("intake", "POST", f"/assessments/{{assessment_id}}/instruments/{instrument}", P.ASSESSMENT_WRITE,
                f"/assessments/{aid}/instruments/{instrument}", answers, aid)
          for instrument, answers in a["instruments"].items()],
        Route("intake", "POST", "/assessments/{assessment_id}/completion", P.ASSESSMENT_WRITE,
              f"/assessments/{aid}/completion", a["completion"], aid),
        Route("intake", "GET", "/assessments/{assessment_id}", P.ASSESSMENT_READ, f"/assessments/{aid}", None, aid),
        Route("intake", "GET", "/participants/{participant_id}/assessments", P.ASSESSMENT_READ,
              f"/participants/{pid}/assessments", None, pid),
        Route("intake", "GET", "/participants/{participant_id}", P.PARTICIPANT_READ, f"/participants/{pid}",
              None, pid),
        Route("intake", "DELETE", "/participants/{participant_id}/data-key", P.PARTICIPANT_ERASE,
              f"/participants/{pid}/data-key", None, pid),
        Route("planning", "GET", "/participants/{participant_id}/plan", P.PLAN_READ, f"/participants/{pid}/plan",
              None, pid),
        Route("planning", "POST", "/plans/{plan_id}/revisions", P.PLAN_WRITE, f"/plans/{plan}/revisions",
              {"base_version": 1, "reason_code": "x", "expected_weeks": 12}, plan),
        Route("planning", "POST", "/plans/{plan_id}/versions/{version}/signatures", P.PLAN_WRITE,
              f"/plans/{plan}/versions/1/signatures", {"role": "clinician"}, plan),
        Route("planning", "POST", "/me/plans/{plan_id}/versions/{version}/signature", P.PLAN_SIGN_OWN,
              f"/me/plans/{plan}/versions/1/signature", {}, plan),
        Route("planning", "GET", "/me/plan", P.PLAN_READ_OWN, "/me/plan"),
        Route("planning", "POST", "/plans/{plan_id}/goals/{goal_id}/met", P.PLAN_WRITE,
              f"/plans/{plan}/goals/{j.goal_id}/met", {}, plan),
        Route("planning", "POST", "/plans/{plan_id}/reviews", P.PLAN_WRITE, f"/plans/{plan}/reviews",
              {}, plan),
        Route("planning", "POST", "/participants/{participant_id}/safety-flags/{flag_id}/resolution", P.PLAN_WRITE,
              f"/participants/{pid}/safety-flags/flag-x/resolution", {}, pid),
        Route("scheduling", "GET", "/participants/{participant_id}/sessions", P.SESSIONS_READ,
              f"/participants/{pid}/sessions", None, pid),
        Route("scheduling", "GET", "/participants/{participant_id}/hours", P.SESSIONS_READ,
              f"/participants/{pid}/hours", None, pid),
        Route("scheduling", "GET", "/participants/{participant_id}/calendar.ics", P.SESSIONS_READ,
              f"/participants/{pid}/calendar.ics", None, pid),
        Route("scheduling", "PUT", "/participants/{participant_id}/availability", P.AVAILABILITY_WRITE,
              f"/participants/{pid}/availability", {"windows": EVENINGS}, pid),
        Route("scheduling", "POST", "/sessions/{session_id}/check-in", P.ATTENDANCE_WRITE,
              f"/sessions/{sid}/check-in", None, sid),
        Route("scheduling", "POST", "/sessions/{session_id}/attendance", P.ATTENDANCE_WRITE,
              f"/sessions/{sid}/attendance", {"status": "attended"}, sid),
        Route("scheduling", "POST", "/sessions/{session_id}/cancellation", P.ATTENDANCE_WRITE,
              f"/sessions/{sid}/cancellation", {"reason_code": "x"}, sid),
        Route("scheduling", "POST", "/clinicians/{clinician_id}/absences", P.STAFFING_WRITE,
              f"/clinicians/{j.clinician_id}/absences", None),
        Route("scheduling", "POST", "/groups/{group_id}/cancellations", P.STAFFING_WRITE,
              f"/groups/{j.group_id or 'g-1'}/cancellations", None),
        Route("scheduling", "GET", "/calendar", P.SESSIONS_READ, "/calendar"),
        Route("scheduling", "PUT", "/calendar", P.STAFFING_WRITE, "/calendar", None),
        Route("scheduling", "GET", "/clinicians/{clinician_id}/calendar.ics", P.SESSIONS_READ,
              f"/clinicians/{j.clinician_id}/calendar.ics"),
        # a flow run names the tenant it acts for (the workflow identity is deployment-wide)
        Route("aftercare", "POST", "/follow-ups/{follow_up_id}/open", P.FOLLOW_UP_RUN, f"/follow-ups/{fid}/open",
              {"tenant_id": TENANT_A}, fid),
        Route("aftercare", "POST", "/follow-ups/{follow_up_id}/grace-check", P.FOLLOW_UP_RUN,
              f"/follow-ups/{fid}/grace-check", {"tenant_id": TENANT_A}, fid),
        Route("aftercare", "POST", "/follow-ups/{follow_up_id}/check-in", P.AFTERCARE_WRITE,
              f"/follow-ups/{fid}/check-in", check_in, fid),
        Route("aftercare", "GET", "/participants/{participant_id}/aftercare", P.AFTERCARE_READ,
              f"/participants/{pid}/aftercare", None, pid),
        Route("aftercare", "PUT", "/participants/{participant_id}/aftercare/relapse-prevention-plan",
              P.AFTERCARE_WRITE, f"/participants/{pid}/aftercare/relapse-prevention-plan", rpp, pid),
        # who confirms is the token: a staff member's is recorded as witnessed, the participant's own session's
        # as theirs; no body fields
        Route("aftercare", "POST", "/participants/{participant_id}/aftercare/confirmation", CONFIRM_PLAN,
              f"/participants/{pid}/aftercare/confirmation", {}, pid),
        Route("aftercare", "PUT", "/participants/{participant_id}/reminder-contact", P.AFTERCARE_WRITE,
              f"/participants/{pid}/reminder-contact", {"email": "someone@example.org"}),
        # (a reminder contact may come before aftercare knows the participant: its scope is tested apart)
        Route("aftercare", "GET", "/outreach-tasks", P.AFTERCARE_READ, "/outreach-tasks"),
        # safety flags, owned where they were raised (their scope is tested in test_safety_loop.py)
        *[r for service in ("intake", "aftercare") for r in (
            Route(service, "GET", "/safety-flags", P.SAFETY_FLAG_READ, "/safety-flags"),
            Route(service, "GET", "/safety-flags/{flag_id}", P.SAFETY_FLAG_READ, "/safety-flags/flag-x"),
            Route(service, "POST", "/safety-flags/{flag_id}/acknowledgement", P.SAFETY_FLAG_RESPOND,
                  "/safety-flags/flag-x/acknowledgement"),
            Route(service, "POST", "/safety-flags/{flag_id}/resolution", P.SAFETY_FLAG_RESPOND,
                  "/safety-flags/flag-x/resolution", {"action_taken": "safety_plan"}))],
        Route("aftercare", "GET", "/measures/follow-up", P.MEASURES_READ, "/measures/follow-up"),
        Route("operations", "GET", "/api/figures", P.DASHBOARD_READ, "/api/figures"),
        Route("operations", "GET", "/api/consumer-lag", P.DASHBOARD_READ, "/api/consumer-lag"),
        *[Route(s, "GET", "/audit", P.AUDIT_READ, "/audit")
          for s in ("intake", "planning", "scheduling", "aftercare", "operations")],
    ]


OPEN = {"/health", "/metrics", "/", "/api/identity"}  # no participant data: liveness, Prometheus, the dashboard
# page and where it signs its user in (issuer and public client id)


@pytest.fixture(scope="module")
def journey(stack) -> Journey:
    return take_through_care(stack, 3, subject="staff-access-3")


@pytest.fixture(scope="module")
def table(journey) -> list[Route]:
    return routes(journey)


def _call(stack, route: Route, headers: dict, path: str | None = None) -> httpx.Response:
    return httpx.request(route.method, stack.url(route.service) + (path or route.path), headers=headers,
                         json=route.body, timeout=30)


def test_the_table_covers_every_route_of_every_service(stack, table):
    for service in ("intake", "planning", "scheduling", "aftercare", "operations"):
        doc = httpx.get(f"{stack.url(service)}/openapi.json", timeout=15).json()
        served = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops if p not in OPEN}
        assert served == {(r.method, r.template) for r in table if r.service == service}, service
        assert "HTTPBearer" in doc["components"]["securitySchemes"], "the OpenAPI page offers the bearer scheme"


def test_no_or_an_invalid_token_is_401_with_a_bearer_challenge(stack, table):
    bad = {"none": {}, "garbage": {"Authorization": "Bearer not.a.token"}, "basic": {"Authorization": "Basic dTpw"},
           "expired": {"Authorization": f"Bearer {expired_token(stack)}"},
           "foreign key": {"Authorization": f"Bearer {foreign_token(stack)}"}}
    for route in table:
        for name, headers in bad.items():
            r = _call(stack, route, headers)
            assert r.status_code == 401, (route.service, route.path, name, r.status_code, r.text)
            assert r.headers["www-authenticate"].startswith("Bearer"), (route.path, name)
            if name in ("garbage", "expired", "foreign key"):
                assert 'error="invalid_token"' in r.headers["www-authenticate"]
        assert "expired" in _call(stack, route, bad["expired"]).json()["detail"]


def _without(permission: Permission) -> list[Role]:
    return [r for r in Role if permission not in PERMISSIONS[r]]


def test_a_role_without_the_permission_is_403(stack, table):
    for route in table:
        for role in _without(route.permission):
            own = FAKE if role is Role.PARTICIPANT else None  # a participant's session names who they are
            r = _call(stack, route, stack.auth_headers(role, participant_id=own))
            assert r.status_code == 403, (route.service, route.path, role, r.status_code, r.text)
            assert route.permission.value in r.json()["detail"]


def test_outside_the_scope_is_404_exactly_as_for_what_does_not_exist(stack, table, journey):
    """Tenant B (every role), and tenant A in another program, see A's participant as absent; a
    participant's own session sees another participant's plan as absent."""
    staff = {"insider": stack.auth_headers(ALL_ROLES),
             "other tenant": stack.auth_headers(ALL_ROLES, tenant=TENANT_B),
             "other program": stack.auth_headers(ALL_ROLES, programs=["adolescent"])}
    me = {"insider": stack.auth_headers(Role.PARTICIPANT, participant_id=journey.participant_id),
          "other tenant": stack.auth_headers(Role.PARTICIPANT, tenant=TENANT_B, participant_id=journey.participant_id),
          "another participant": stack.auth_headers(Role.PARTICIPANT, participant_id=FAKE)}
    scoped = [r for r in table if r.real_id]
    assert len(scoped) >= 25
    for route in scoped:
        tokens = me if route.permission in PERMISSIONS[Role.PARTICIPANT] else staff
        insider, outsiders = tokens["insider"], {k: v for k, v in tokens.items() if k != "insider"}
        absent = _call(stack, route, insider, route.path.replace(route.real_id, FAKE))
        assert absent.status_code == 404, (route.path, absent.status_code, absent.text)
        for name, headers in outsiders.items():
            r = _call(stack, route, headers)
            assert r.status_code == 404, (route.service, route.path, name, r.status_code, r.text)
            assert r.json() == {"detail": absent.json()["detail"].replace(FAKE, route.real_id)}, (route.path, name)


def test_tenant_b_cannot_see_or_change_tenant_a_and_lists_do_not_leak(stack, journey):
    urls = stack.urls()
    a_pid = journey.participant_id
    with stack.client(tenant=TENANT_B, subject="staff-b-1") as b:
        # B's own participant: B sees them, A does not
        b_pid = api.refer(b, urls, referral(4, tenant=TENANT_B))["participant_id"]
        assert b.get(f"{urls.intake}/participants/{b_pid}").json()["tenant_id"] == TENANT_B
        # a referral into A's tenant is refused; left out, the tenant is the token's
        r = b.post(f"{urls.intake}/referrals", json=referral(5, tenant=TENANT_A))
        assert r.status_code == 403 and "tenant_id" in r.json()["detail"]
        body = {k: v for k, v in referral(5).items() if k != "tenant_id"}
        assert b.post(f"{urls.intake}/referrals", json=body).json()["tenant_id"] == TENANT_B
        # A's participant is not there for B, read or write
        assert b.get(f"{urls.intake}/participants/{a_pid}").status_code == 404
        assert b.put(f"{urls.scheduling}/participants/{a_pid}/availability",
                     json={"windows": EVENINGS}).status_code == 404
        assert b.post(f"{urls.scheduling}/sessions/{journey.session_id}/attendance",
                      json={"status": "attended"}).status_code == 404
        assert b.put(f"{urls.aftercare}/participants/{a_pid}/reminder-contact",
                     json={"email": "someone@example.org"}).status_code == 404
        # lists, feeds and aggregates show B's scope only
        feed = b.get(f"{urls.scheduling}/clinicians/{journey.clinician_id}/calendar.ics")
        assert feed.status_code == 200 and a_pid not in feed.text and "VEVENT" not in feed.text
        assert all(t["participant_id"] != a_pid for t in b.get(f"{urls.aftercare}/outreach-tasks").json())
        m = b.get(f"{urls.aftercare}/measures/follow-up", headers=stack.auth_headers("operations", tenant=TENANT_B))
        assert m.json()["within_30_days"]["discharges"] == 0 and m.json()["within_30_days"]["window_still_open"] == 0
    with stack.client("operations", tenant=TENANT_B) as ops_b:
        f = ops_b.get(f"{stack.url('operations')}/api/figures").json()
        assert f["filters"]["tenants"] in ([], [TENANT_B]) and f["census"]["total"] == 0
        assert ops_b.get(f"{stack.url('operations')}/api/figures", params={"tenant": TENANT_A}).status_code == 403
    with stack.client(tenant=TENANT_A) as a:
        assert a.get(f"{urls.intake}/participants/{b_pid}").status_code == 404
        assert a.get(f"{urls.intake}/participants/{a_pid}").status_code == 200
        feed = a.get(f"{urls.scheduling}/clinicians/{journey.clinician_id}/calendar.ics")
        assert journey.session_id in feed.text, "A's own clinician feed shows A's session"
    with stack.client("privacy_officer", tenant=TENANT_B) as auditor_b:
        for s in ("intake", "scheduling"):
            rows = auditor_b.get(f"{stack.url(s)}/audit").json()["entries"]
            subjects = {e["subject"] for e in rows}  # Keycloak user ids: each one's tenant, from the realm
            tenants = {stack.identity.admin("GET", f"/users/{sub}").json()["attributes"]["tenant"][0]
                       for sub in subjects}
            assert rows and tenants == {TENANT_B}, (s, tenants)
            assert not [e for e in rows if e["participant_id"] == a_pid and e["outcome"] == "success"]
        a_rows = auditor_b.get(f"{urls.intake}/audit", params={"participant_id": a_pid}).json()["entries"]
        assert {e["outcome"] for e in a_rows} <= {"out_of_scope"}, "B's trail shows only B's refused tries"
