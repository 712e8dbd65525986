"""Helpers of the access-control and audit tests: one participant taken through the whole care
path by a named user, and tokens for any role, tenant and programs."""

import time
from dataclasses import dataclass

from deploy import api_client as api
from deploy.demo_cohort import IMPROVED_PHQ9, assessment, reassessment, referral
from services.security.roles import Role
from tests.support import forged_tokens as forged
from tests.support.waiting import poll

ALL_ROLES = tuple(r for r in Role if r is not Role.PARTICIPANT)
"""Every role of staff and services (a participant's own session is a person's own: never mixed)."""


@dataclass
class Journey:
    participant_id: str
    assessment_id: str
    plan_id: str
    goal_id: str
    session_id: str          # one still scheduled
    clinician_id: str
    group_id: str | None
    follow_up_id: str


def take_through_care(stack, index: int, subject: str, tenant: str = "demo-network") -> Journey:
    """Referral -> assessment -> plan -> sessions -> attendance -> re-assessment -> aftercare, by
    ``subject`` (the care team's roles) through the APIs, reading each step back."""
    urls = stack.urls()
    with stack.client(subject=subject, tenant=tenant) as http:
        pid = api.refer(http, urls, referral(index, tenant=tenant))["participant_id"]
        outcome = api.assess(http, urls, pid, assessment(index))
        assert outcome["admitted_to_iop"], outcome
        plan = poll(lambda: api.plan(http, urls, pid), 60, "a plan")["plan"]
        booked = poll(lambda: api.sessions(http, urls, pid), 60, "sessions scheduled")
        for s in booked["sessions"][:3]:
            assert api.attend(http, urls, s["session_id"])["status"] == "attended"
        api.assess(http, urls, pid, reassessment(index, phq9=IMPROVED_PHQ9))
        care = poll(lambda: (a := api.aftercare(http, urls, pid)) and a["follow_ups"] and a, 90, "aftercare")
        sessions = api.sessions(http, urls, pid)["sessions"]
    spare = next((s for s in sessions if s["status"] == "scheduled"), sessions[-1])
    return Journey(pid, outcome["assessment_id"], plan["plan_id"], plan["goals"][0]["goal_id"], spare["session_id"],
                   spare["clinician_id"], next((s["group_id"] for s in sessions if s["group_id"]), None),
                   care["follow_ups"][-1]["follow_up_id"])


def expired_token(stack, roles=ALL_ROLES, tenant: str = "demo-network") -> str:
    """Signed by the stack's Keycloak for a real user, and expired beyond the services' leeway."""
    token = forged.expired_token(stack.identity, roles, tenant, ["adult-mh"])
    leeway = int(stack.service_env().get("CONTINUUM_AUTH_LEEWAY_SECONDS", 30))
    time.sleep(max(0.0, forged.claims_of(token)["exp"] + leeway + 1 - time.time()))
    return token


def foreign_token(stack, roles=ALL_ROLES, tenant: str = "demo-network") -> str:
    """A real token's claims and key id, signed with a key that is not the identity provider's."""
    return forged.self_signed(stack.identity.token(roles, tenant, ["adult-mh"]))
