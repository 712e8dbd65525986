"""A service's own identity: an access token by the OAuth2 client-credentials grant from the
issuer's token endpoint (found by discovery), held until shortly before it expires. The flow
server calls aftercare with it (Keycloak's confidential client ``continuum-workflow``, whose
service account has the realm role ``workflow``). No signing key anywhere: the identity
provider issues the token.

Synchronous (httpx.Client): the flows that use it are synchronous. Thread-safe."""

import threading
import time
from collections.abc import Callable
from urllib.parse import quote

import httpx

from .oidc import KeyLookupFailed, checked_discovery, describe, discovery_url


class TokenUnavailable(Exception):
    """No token: the identity provider is unreachable or refused the client's credentials."""


class ClientCredentials:
    """``token()`` is a valid access token of the client, fetched when none is held or the one
    held expires within ``refresh_margin_s`` (or half its lifetime, if that is shorter)."""

    def __init__(self, issuer: str, client_id: str, client_secret: str | Callable[[], str], *,
                 refresh_margin_s: float = 60, timeout_s: float = 10, scope: str | None = None,
                 transport: httpx.BaseTransport | None = None, clock: Callable[[], float] = time.monotonic):
        self.issuer, self.client_id = issuer, client_id
        self._secret = client_secret if callable(client_secret) else (lambda: client_secret)
        self.refresh_margin_s, self.scope, self._clock = refresh_margin_s, scope, clock
        self._http = httpx.Client(timeout=timeout_s, follow_redirects=False, transport=transport)
        self._token_endpoint: str | None = None
        self._token: str | None = None
        self._renew_at = 0.0
        self._lock = threading.Lock()
        self.requests = 0
        """Token requests made (what the cache saves)."""

    def token(self) -> str:
        with self._lock:
            if self._token is None or self._clock() >= self._renew_at:
                self._fetch()
            assert self._token is not None  # set by _fetch
            return self._token

    def forget(self) -> None:
        """Drops the token held (the API refused it): the next ``token()`` fetches another."""
        with self._lock:
            self._token = None

    def close(self) -> None:
        self._http.close()

    def _endpoint(self) -> str:
        if self._token_endpoint is None:
            try:
                response = self._http.get(discovery_url(self.issuer), headers={"Accept": "application/json"})
                response.raise_for_status()
                doc = checked_discovery(response.json(), self.issuer, "token_endpoint")
            except (httpx.HTTPError, ValueError) as exc:
                raise TokenUnavailable(f"the identity provider's discovery document cannot be fetched "
                                       f"({describe(exc)})") from None
            except KeyLookupFailed as exc:
                raise TokenUnavailable(str(exc)) from None
            self._token_endpoint = doc["token_endpoint"]
        return self._token_endpoint

    def _fetch(self) -> None:
        endpoint = self._endpoint()
        form = {"grant_type": "client_credentials"} | ({"scope": self.scope} if self.scope else {})
        # client_secret_basic: the id and secret form-urlencoded, then Basic (RFC 6749 2.3.1)
        auth = httpx.BasicAuth(quote(self.client_id, safe=""), quote(self._secret(), safe=""))
        self.requests += 1
        started = self._clock()
        try:
            response = self._http.post(endpoint, data=form, auth=auth, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            self._token_endpoint = None  # discovered again next time
            raise TokenUnavailable(f"the identity provider cannot be reached ({describe(exc)})") from None
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code != 200:
            error = body.get("error") if isinstance(body, dict) else None
            raise TokenUnavailable(f"the identity provider refused client {self.client_id}'s credentials "
                                   f"(HTTP {response.status_code}{', ' + str(error)[:64] if error else ''})")
        token, lifetime = body.get("access_token"), body.get("expires_in")
        if not isinstance(token, str) or not token or not isinstance(lifetime, int | float) or lifetime <= 0:
            raise TokenUnavailable("the identity provider's token response has no access_token and expires_in")
        self._token = token
        self._renew_at = started + lifetime - min(self.refresh_margin_s, lifetime / 2)
