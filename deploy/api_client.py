"""A thin client of the services' HTTP APIs: what a clinician's or scheduler's front end
would call. Used by the demo cohort and the end-to-end tests, so both drive the system
exactly as its users do. Each function raises for an unexpected status.

Every API needs a bearer token: ``dev_token``/``auth_headers`` mint one with the deployment's
development key (``<data dir>/auth/development-signing-key``, or the configured
``CONTINUUM_AUTH_SIGNING_KEY``), and ``client`` is an ``httpx.Client`` that sends it."""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import httpx

from services.security.development import DEV_PROGRAMS, DEV_TENANT
from services.security.local_tokens import bearer, local_authority
from services.security.roles import Role

CARE_TEAM = (Role.CLINICIAN, Role.PSYCHIATRIST, Role.CASE_MANAGER, Role.SCHEDULER, Role.CARE_COORDINATOR)
"""The roles of the demo's front end, which does what the whole care team does."""


def dev_token(role: str | Iterable[str], tenant: str = DEV_TENANT, programs: Iterable[str] = DEV_PROGRAMS,
              subject: str | None = None, data_dir: Path | None = None) -> str:
    """A token for ``role`` (one role, or several) in ``tenant`` and ``programs``, signed with the
    deployment's key (``data_dir``: where its development key lives; default CONTINUUM_DATA_DIR)."""
    roles = [role] if isinstance(role, str) else list(role)
    return local_authority(data_dir).issue(subject=subject or f"dev-{'-'.join(roles)}", roles=roles, tenant=tenant,
                                           programs=programs)


def auth_headers(role: str | Iterable[str] = CARE_TEAM, tenant: str = DEV_TENANT,
                 programs: Iterable[str] = DEV_PROGRAMS, subject: str | None = None,
                 data_dir: Path | None = None) -> dict[str, str]:
    """``{"Authorization": "Bearer ..."}`` for ``role``: what any caller of the APIs sends."""
    return bearer(dev_token(role, tenant, programs, subject, data_dir))


def client(role: str | Iterable[str] = CARE_TEAM, tenant: str = DEV_TENANT, programs: Iterable[str] = DEV_PROGRAMS,
           subject: str | None = None, data_dir: Path | None = None, **kwargs) -> httpx.Client:
    """An ``httpx.Client`` sending a token for ``role`` (extra ``headers`` are kept)."""
    headers = {**auth_headers(role, tenant, programs, subject, data_dir), **kwargs.pop("headers", {})}
    return httpx.Client(headers=headers, **{"timeout": 15, **kwargs})


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
