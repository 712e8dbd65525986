"""A small client of the deployment's Keycloak (deploy/keycloak_runner.py): the tests, the demo
and scripts get their access tokens from it exactly as a person's front end would, never by
signing one themselves.

``token(roles, tenant, programs, subject=None, participant_id=None)`` makes sure a user with
those realm roles and attributes exists (created or updated through the admin REST API with the
bootstrap administrator), signs in as that user (password grant on ``continuum-scripts``) and
returns the access token; tokens are cached per user and fetched again when less than 60 s is
left. ``client_credentials(client_id, secret)`` is a service's own token (the flow server's).
``subject_of(token)`` reads the ``sub`` claim (Keycloak's user id: the actor id everywhere)."""

import base64
import hashlib
import json
import re
import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import httpx

from .keycloak_runner import ADMIN_USERNAME, AUDIENCE, REALM, SCRIPTS_CLIENT

REFRESH_MARGIN_S = 60


def verifier_env(issuer: str, audience: str = AUDIENCE) -> dict[str, str]:
    """The ``CONTINUUM_AUTH_*`` settings of a service that trusts this realm's tokens: its issuer and
    audience, and where the realm's tokens carry roles, tenant, programs and the participant."""
    return {"CONTINUUM_AUTH_ISSUER": issuer, "CONTINUUM_AUTH_AUDIENCE": audience,
            "CONTINUUM_AUTH_ROLES_CLAIM": "realm_access.roles", "CONTINUUM_AUTH_TENANT_CLAIM": "tenant",
            "CONTINUUM_AUTH_PROGRAMS_CLAIM": "programs", "CONTINUUM_AUTH_PARTICIPANT_CLAIM": "participant_id"}


class IdentityUnavailable(RuntimeError):
    """Keycloak does not answer: new sign-ins fail (tokens already issued stay valid)."""


def claims_of(token: str) -> dict:
    """The token's claims, NOT verified (the services verify; this only reads)."""
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def header_of(token: str) -> dict:
    head = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))


def subject_of(token: str) -> str:
    """The ``sub`` claim: the Keycloak user id (a UUID) that the services record as the actor."""
    return claims_of(token)["sub"]


@dataclass(frozen=True)
class _Cached:
    token: str
    expires_at: float

    def fresh(self) -> bool:
        return self.expires_at - time.time() > REFRESH_MARGIN_S


def _username(roles: list[str], tenant: str, programs: list[str], subject: str | None,
              participant_id: str | None) -> str:
    if subject:
        name = re.sub(r"[^a-z0-9._@-]", "-", subject.lower())
        return name if len(name) >= 3 else f"user-{name}"
    digest = hashlib.sha256(json.dumps([sorted(roles), tenant, sorted(programs), participant_id]).encode())
    first = roles[0].replace("_", "-") if roles else "user"
    return f"{first}-{digest.hexdigest()[:10]}"


class IdentityClient:
    """One Keycloak realm. Thread-safe (one lock around the admin calls and the caches)."""

    def __init__(self, url: str, admin_password: str, realm: str = REALM, admin_username: str = ADMIN_USERNAME,
                 client_id: str = SCRIPTS_CLIENT, audience: str = AUDIENCE):
        self.url = url.rstrip("/")
        self.realm = realm
        self.audience = audience
        self.client_id = client_id
        self._admin_username, self._admin_password = admin_username, admin_password
        self._http = httpx.Client(timeout=30)
        self._lock = threading.RLock()
        self._admin: _Cached | None = None
        self._role_ids: dict[str, dict] | None = None
        self._users: dict[str, tuple[str, str, tuple]] = {}  # username -> (user id, password, what it holds)
        self._tokens: dict[tuple, _Cached] = {}

    # -- construction -----------------------------------------------------------------------

    @classmethod
    def for_server(cls, server) -> "IdentityClient":
        """For a started deploy.keycloak_runner.KeycloakServer (shared per data dir)."""
        return cls.for_data_dir(server.data_dir.parent)

    _by_dir: ClassVar[dict[Path, "IdentityClient"]] = {}
    _by_dir_lock: ClassVar[threading.Lock] = threading.Lock()

    @classmethod
    def for_data_dir(cls, data_dir: Path) -> "IdentityClient":
        """The client of the Keycloak running for the deployment in ``data_dir`` (found from
        ``<data dir>/identity/keycloak.json``, written when it started). One per data dir."""
        identity = Path(data_dir).resolve() / "identity"
        with cls._by_dir_lock:
            about = identity / "keycloak.json"
            if not about.exists():
                raise IdentityUnavailable(f"no Keycloak has started for {identity.parent} (no {about}): "
                                          "start the stack (make run) or python -m deploy keycloak")
            info = json.loads(about.read_text())
            found = cls._by_dir.get(identity)
            if found is None or found.url != info["url"].rstrip("/"):
                found = cls(info["url"], (identity / "admin-password").read_text().strip(), info["realm"],
                            info["admin_username"], info["scripts_client"], info["audience"])
                cls._by_dir[identity] = found
            return found

    # -- endpoints ---------------------------------------------------------------------------

    @property
    def issuer(self) -> str:
        return f"{self.url}/realms/{self.realm}"

    @property
    def token_endpoint(self) -> str:
        return f"{self.issuer}/protocol/openid-connect/token"

    @property
    def jwks_uri(self) -> str:
        return f"{self.issuer}/protocol/openid-connect/certs"

    def auth_env(self) -> dict[str, str]:
        """The ``CONTINUUM_AUTH_*`` settings of a service that trusts this realm's tokens."""
        return verifier_env(self.issuer, self.audience)

    def _call(self, method: str, url: str, **kwargs) -> httpx.Response:
        try:
            return self._http.request(method, url, **kwargs)
        except httpx.TransportError as e:
            raise IdentityUnavailable(f"Keycloak at {self.url} does not answer ({type(e).__name__}: {e}): "
                                      "new sign-ins fail until it is back") from e

    def _grant(self, realm: str, data: dict) -> _Cached:
        r = self._call("POST", f"{self.url}/realms/{realm}/protocol/openid-connect/token", data=data)
        if r.status_code != 200:
            raise PermissionError(f"Keycloak refused the {data['grant_type']} grant for "
                                  f"{data.get('username') or data['client_id']}: {r.status_code} {r.text[:300]}")
        body = r.json()
        return _Cached(body["access_token"], time.time() + body["expires_in"])

    # -- the administrator -------------------------------------------------------------------

    def _admin_headers(self) -> dict[str, str]:
        if self._admin is None or self._admin.expires_at - time.time() < 10:
            self._admin = self._grant("master", {"grant_type": "password", "client_id": "admin-cli",
                                                 "username": self._admin_username,
                                                 "password": self._admin_password})
        return {"Authorization": f"Bearer {self._admin.token}"}

    def _admin_call(self, method: str, path: str, **kwargs) -> httpx.Response:
        r = self._call(method, f"{self.url}/admin/realms/{self.realm}{path}", headers=self._admin_headers(),
                       **kwargs)
        if r.status_code == 401:  # the admin session is gone (Keycloak restarted): sign in again
            self._admin = None
            r = self._call(method, f"{self.url}/admin/realms/{self.realm}{path}", headers=self._admin_headers(),
                           **kwargs)
        if r.status_code >= 400:
            raise RuntimeError(f"Keycloak admin {method} {path} -> {r.status_code}: {r.text[:500]}")
        return r

    def _realm_roles(self) -> dict[str, dict]:
        if self._role_ids is None:
            self._role_ids = {r["name"]: {"id": r["id"], "name": r["name"]}
                              for r in self._admin_call("GET", "/roles", params={"max": 1000}).json()}
        return self._role_ids

    def user_id(self, username: str) -> str | None:
        """Keycloak's id (the token's ``sub``) of ``username``, or None."""
        with self._lock:
            found = self._admin_call("GET", "/users", params={"username": username, "exact": "true"}).json()
            return found[0]["id"] if found else None

    def ensure_user(self, username: str, roles: Iterable[str], tenant: str | None, programs: Iterable[str],
                    participant_id: str | None = None) -> str:
        """Create or update ``username`` with exactly these realm roles and attributes, and a fresh
        password this client knows. Returns the user's id."""
        roles, programs = sorted(set(map(str, roles))), list(dict.fromkeys(map(str, programs)))
        holds = (tuple(roles), tenant, tuple(programs), participant_id)
        with self._lock:
            known = self._users.get(username)
            if known and known[2] == holds:
                return known[0]
            unknown = set(roles) - set(self._realm_roles())
            if unknown:
                raise ValueError(f"no such realm role(s) in {self.realm}: {sorted(unknown)}")
            attributes = {"programs": programs}
            if tenant is not None:
                attributes["tenant"] = [tenant]
            if participant_id is not None:
                attributes["participant_id"] = [participant_id]
            password = secrets.token_urlsafe(18)
            rep = {"username": username, "enabled": True, "emailVerified": True, "firstName": username,
                   "lastName": "Continuum", "attributes": attributes, "requiredActions": []}
            user_id = self.user_id(username)
            if user_id is None:
                r = self._admin_call("POST", "/users", json={
                    **rep, "credentials": [{"type": "password", "value": password, "temporary": False}]})
                user_id = r.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
            else:
                self._admin_call("PUT", f"/users/{user_id}", json=rep)
                self._admin_call("PUT", f"/users/{user_id}/reset-password",
                                 json={"type": "password", "value": password, "temporary": False})
            mapped = {r["name"] for r in self._admin_call("GET", f"/users/{user_id}/role-mappings/realm").json()}
            if extra := [self._realm_roles()[n] for n in sorted(mapped - set(roles)) if n in self._realm_roles()]:
                self._admin_call("DELETE", f"/users/{user_id}/role-mappings/realm", json=extra)
            if missing := [self._realm_roles()[n] for n in roles if n not in mapped]:
                self._admin_call("POST", f"/users/{user_id}/role-mappings/realm", json=missing)
            self._users[username] = (user_id, password, holds)
            self._tokens = {k: v for k, v in self._tokens.items() if k[0] != username}
            return user_id

    # -- tokens ------------------------------------------------------------------------------

    def token(self, roles: str | Iterable[str], tenant: str | None, programs: Iterable[str] = (),
              subject: str | None = None, participant_id: str | None = None) -> str:
        """An access token for a user with ``roles`` (one or several realm roles) in ``tenant``
        and ``programs``. ``subject``: the username to sign in as (the same name is the same person,
        whose ``sub`` is its Keycloak id); none: one user per roles/tenant/programs."""
        roles = [roles] if isinstance(roles, str) else [str(r) for r in roles]
        programs = [str(p) for p in programs]
        username = _username(roles, tenant or "", programs, subject, participant_id)
        key = (username, tuple(sorted(roles)), tenant, tuple(programs), participant_id)
        with self._lock:
            cached = self._tokens.get(key)
            if cached and cached.fresh():
                return cached.token
            self.ensure_user(username, roles, tenant, programs, participant_id)
            try:
                fresh = self._password_grant(username)
            except PermissionError:  # another process reset this user's password meanwhile: take it back
                self._users.pop(username, None)
                self.ensure_user(username, roles, tenant, programs, participant_id)
                fresh = self._password_grant(username)
            self._tokens[key] = fresh
            return fresh.token

    def _password_grant(self, username: str, client_id: str | None = None) -> _Cached:
        return self._grant(self.realm, {"grant_type": "password", "client_id": client_id or self.client_id,
                                        "scope": "openid", "username": username,
                                        "password": self._users[username][1]})

    def sign_in_through(self, client_id: str, username: str) -> str:
        """A fresh token for ``username`` (made by ``ensure_user``/``token``) from another public
        client of the realm (e.g. one a test made with a short token lifespan), not cached."""
        with self._lock:
            return self._password_grant(username, client_id).token

    def allow_dashboard_at(self, dashboard_url: str, client_id: str = "continuum-dashboard") -> None:
        """Narrow the dashboard client to the deployment's own dashboard: its address is the only
        redirect URI, and (``webOrigins: +``) its origin the only one allowed to call the token
        endpoint from a browser (a wildcard port would allow any origin on the host, and Keycloak
        derives no CORS origin from it)."""
        with self._lock:
            found = self._admin_call("GET", "/clients", params={"clientId": client_id}).json()
            if not found:
                raise LookupError(f"no client {client_id} in realm {self.realm}")
            rep = found[0]
            rep.update(redirectUris=[dashboard_url, f"{dashboard_url.rstrip('/')}/*"], webOrigins=["+"])
            self._admin_call("PUT", f"/clients/{rep['id']}", json=rep)

    def admin(self, method: str, path: str, **kwargs) -> httpx.Response:
        """A call of the realm's admin REST API (``path`` under ``/admin/realms/<realm>``)."""
        with self._lock:
            return self._admin_call(method, path, **kwargs)

    def password_token(self, username: str, password: str) -> str:
        """Sign in as an existing user (a demo user from demo-users.json) on ``continuum-scripts``."""
        return self._grant(self.realm, {"grant_type": "password", "client_id": self.client_id, "scope": "openid",
                                        "username": username, "password": password}).token

    def client_credentials(self, client_id: str, secret: str) -> str:
        """A confidential client's own token (client credentials grant), cached until < 60 s left."""
        key = ("client", client_id, secret)
        with self._lock:
            cached = self._tokens.get(key)
            if cached and cached.fresh():
                return cached.token
            fresh = self._grant(self.realm, {"grant_type": "client_credentials", "client_id": client_id,
                                             "client_secret": secret})
            self._tokens[key] = fresh
            return fresh.token

    def clear(self) -> None:
        """Forget cached tokens and the admin token (not the users)."""
        with self._lock:
            self._tokens.clear()
            self._admin = None

    subject_of = staticmethod(subject_of)
    claims_of = staticmethod(claims_of)
    header_of = staticmethod(header_of)


class TokenAuth(httpx.Auth):
    """httpx authentication that asks ``identity`` for a current token on every request (a client
    kept open longer than a token's 30 minutes keeps working). A request that brings its own
    ``Authorization`` header (another caller's token, or none on purpose) keeps it."""

    def __init__(self, identity: IdentityClient, roles, tenant, programs, subject=None, participant_id=None):
        self.identity, self.args = identity, (roles, tenant, programs, subject, participant_id)

    def auth_flow(self, request: httpx.Request):
        if "Authorization" not in request.headers:
            request.headers["Authorization"] = f"Bearer {self.identity.token(*self.args)}"
        yield request
