"""A thin client of the services' HTTP APIs: what a clinician's or scheduler's front end
would call. Used by the demo cohort and the end-to-end tests, so both drive the system
exactly as its users do. Each function raises for an unexpected status.

Every API needs a bearer token, and every token comes from the deployment's Keycloak (the
identity provider ``make run`` starts; deploy/identity_client.py), never from a key of ours:
``dev_token``/``auth_headers`` sign in as a user with the given roles, tenant and programs
(created in the realm on first use), and ``client`` is an ``httpx.Client`` that sends a
current token with every request. ``data_dir``: the deployment's (default CONTINUUM_DATA_DIR,
else ./data), where ``identity/keycloak.json`` says where its Keycloak runs."""

import os
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import httpx

from services.security.roles import Role

from .identity_client import IdentityClient, TokenAuth
from .keycloak_runner import DEMO_PROGRAMS, DEMO_TENANT

CARE_TEAM = (Role.CLINICIAN, Role.PSYCHIATRIST, Role.CASE_MANAGER, Role.SCHEDULER, Role.CARE_COORDINATOR)
"""The roles of the demo's front end, which does what the whole care team does."""


def identity(data_dir: Path | None = None) -> IdentityClient:
    """The client of the Keycloak of the deployment in ``data_dir``."""
    return IdentityClient.for_data_dir(data_dir or Path(os.environ.get("CONTINUUM_DATA_DIR", "data")))


def _roles(role: str | Iterable[str]) -> list[str]:
    return [role] if isinstance(role, str) else [str(r) for r in role]


def dev_token(role: str | Iterable[str], tenant: str = DEMO_TENANT, programs: Iterable[str] = DEMO_PROGRAMS,
              subject: str | None = None, data_dir: Path | None = None, participant_id: str | None = None) -> str:
    """An access token from Keycloak for ``role`` (one role, or several) in ``tenant`` and ``programs``;
    ``subject``: the username (the same name is the same person); none: one user per roles/tenant/programs;
    ``participant_id``: for a participant's own session (role ``participant``), the participant they are."""
    return identity(data_dir).token(_roles(role), tenant, programs, subject=subject, participant_id=participant_id)


def auth_headers(role: str | Iterable[str] = CARE_TEAM, tenant: str = DEMO_TENANT,
                 programs: Iterable[str] = DEMO_PROGRAMS, subject: str | None = None,
                 data_dir: Path | None = None, participant_id: str | None = None) -> dict[str, str]:
    """``{"Authorization": "Bearer ..."}`` for ``role``: what any caller of the APIs sends."""
    return {"Authorization": f"Bearer {dev_token(role, tenant, programs, subject, data_dir, participant_id)}"}


def client(role: str | Iterable[str] = CARE_TEAM, tenant: str = DEMO_TENANT, programs: Iterable[str] = DEMO_PROGRAMS,
           subject: str | None = None, data_dir: Path | None = None, participant_id: str | None = None,
           **kwargs) -> httpx.Client:
    """An ``httpx.Client`` sending a current token for ``role`` with every request (extra ``headers``
    are kept; a request with its own ``Authorization`` keeps it). The user is made and signed in
    right away: a Keycloak that is down fails here."""
    ident = identity(data_dir)
    roles, programs = _roles(role), list(programs)
    ident.token(roles, tenant, programs, subject=subject, participant_id=participant_id)
    return httpx.Client(auth=TokenAuth(ident, roles, tenant, programs, subject, participant_id),
                        **{"timeout": 15, **kwargs})


@dataclass(frozen=True)
class Urls:
    intake: str
    planning: str
    scheduling: str
    aftercare: str


def _ok(r: httpx.Response) -> dict:
    if r.status_code >= 400:
        raise RuntimeError(f"{r.request.method} {r.request.url.path} -> {r.status_code}: {r.text[:500]}")
    return r.json()


def get_or_none(http: httpx.Client, url: str) -> dict | None:
    r = http.get(url)
    return r.json() if r.status_code == 200 else None


def refer(http: httpx.Client, urls: Urls, body: dict) -> dict:
    """A referral; returns participant_id, referral_id, episode_id."""
    return _ok(http.post(f"{urls.intake}/referrals", json=body))


def _command(http: httpx.Client, method: str, url: str, body: dict) -> dict:
    """One command with an Idempotency-Key, retried once with the same key if the
    connection fails: the service applies it once."""
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    try:
        return _ok(http.request(method, url, json=body, headers=headers))
    except httpx.TransportError:
        return _ok(http.request(method, url, json=body, headers=headers))


def assess(http: httpx.Client, urls: Urls, participant_id: str, body: dict,
           signers: dict[str, httpx.Client] | None = None) -> dict:
    """A complete assessment (initial or re-assessment) as the team records it: open it,
    record and sign each section, score each instrument, complete it. ``body`` is
    ``{"kind", "sections": {section: {...}}, "instruments": {instrument: {...}},
    "completion": {"override"?}}`` (see ``deploy.demo_cohort.assessment``); no body names who
    acts: each step is the act of the token its client sends. ``signers`` maps a section name
    (or ``"completion"``) to the client of the staff member who records and signs it (e.g. the
    psychiatrist's session for ``psychiatric_medical``); the rest go through ``http``, whose token
    must then hold every role the steps need (clinician, psychiatrist, case manager).
    Returns the outcome: assessment_id, scores, recommended_level_of_care, admitted_to_iop,
    safety_flagged, dimensions, rationale_codes, completed_by."""
    signers = signers or {}
    opened = _command(http, "POST", f"{urls.intake}/participants/{participant_id}/assessments",
                      {"kind": body.get("kind", "initial")})
    base = f"{urls.intake}/assessments/{opened['assessment_id']}"
    for section, content in body.get("sections", {}).items():
        by = signers.get(section, http)
        _command(by, "PUT", f"{base}/sections/{section}", content)
        _command(by, "POST", f"{base}/sections/{section}/signature", {})
    for instrument, answers in body.get("instruments", {}).items():
        _command(http, "POST", f"{base}/instruments/{instrument}", answers)
    return _command(signers.get("completion", http), "POST", f"{base}/completion", body.get("completion", {}))


def sessions(http: httpx.Client, urls: Urls, participant_id: str) -> dict | None:
    return get_or_none(http, f"{urls.scheduling}/participants/{participant_id}/sessions")


def attend(http: httpx.Client, urls: Urls, session_id: str, minutes: int | None = None) -> dict:
    body = {"status": "attended"} | ({"minutes_attended": minutes} if minutes else {})
    return _ok(http.post(f"{urls.scheduling}/sessions/{session_id}/attendance", json=body))


def plan(http: httpx.Client, urls: Urls, participant_id: str) -> dict | None:
    return get_or_none(http, f"{urls.planning}/participants/{participant_id}/plan")


def aftercare(http: httpx.Client, urls: Urls, participant_id: str) -> dict | None:
    return get_or_none(http, f"{urls.aftercare}/participants/{participant_id}/aftercare")


def check_in(http: httpx.Client, urls: Urls, follow_up_id: str, body: dict) -> dict:
    return _ok(http.post(f"{urls.aftercare}/follow-ups/{follow_up_id}/check-in", json=body))
