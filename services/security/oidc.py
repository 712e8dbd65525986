"""The issuer's public signing keys, by OpenID Connect discovery: ``<issuer>/.well-known/
openid-configuration`` names the ``jwks_uri``; the JWKS holds the keys (PyJWT's PyJWK).

Lazy and cached: nothing is fetched when a service starts (it starts while the identity provider
is down); the first token fetches discovery and keys, and they are held. A token signed with a
key not held (an unknown ``kid``: the provider rotated its keys, or a forgery) fetches the JWKS
again, at most once per ``refresh_interval_s`` whatever the number of such tokens, so forged
kids cause no fetch storm. A failed fetch keeps the keys held: once keys are held, the provider
being down never breaks verifying tokens signed with them. A successful fetch replaces them (a
key the provider withdrew is no longer accepted).

Only signing keys (``use`` absent or ``sig``) with a ``kid`` for RS256 or ES256 are kept."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
from jwt import PyJWK, PyJWTError

from services.eventing.logging import get_logger

log = get_logger(__name__)

ACCEPTED_ALGORITHMS = ("RS256", "ES256")
"""Exactly these: no HMAC (a service must hold no key that can sign), no ``none``."""

FetchJson = Callable[[str], Awaitable[Any]]
"""GETs a URL and returns its JSON body; raises on a transport error or an HTTP error status."""


class KeyLookupFailed(Exception):
    """No key to verify this token with: its kid is unknown, or the keys cannot be fetched."""


def discovery_url(issuer: str) -> str:
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


def http_json(timeout_s: float) -> FetchJson:
    """The default fetcher: httpx, a short deadline, no redirects followed (the discovery
    document and the JWKS are where the issuer says they are)."""

    async def fetch(url: str) -> Any:
        async with httpx.AsyncClient(timeout=timeout_s, follow_redirects=False) as client:
            response = await client.get(url, headers={"Accept": "application/json"})
            response.raise_for_status()
            return response.json()

    return fetch


def _an_http_url(value: Any, what: str) -> str:
    if not isinstance(value, str) or urlsplit(value).scheme not in ("https", "http") or not urlsplit(value).hostname:
        raise KeyLookupFailed(f"the issuer's discovery document has no usable {what}")
    return value


def checked_discovery(doc: Any, issuer: str, *needed: str) -> dict[str, Any]:
    """The discovery document if it is the issuer's own (OIDC Discovery 4.3) and names the
    ``needed`` endpoints."""
    if not isinstance(doc, dict) or doc.get("issuer") != issuer:
        got = doc.get("issuer") if isinstance(doc, dict) else None
        raise KeyLookupFailed(f"the discovery document names issuer {got!r}, not the configured {issuer!r}")
    for name in needed:
        _an_http_url(doc.get(name), name)
    return doc


async def discover(issuer: str, fetch_json: FetchJson) -> dict[str, Any]:
    """The issuer's discovery document (with its ``jwks_uri``)."""
    try:
        doc = await fetch_json(discovery_url(issuer))
    except (httpx.HTTPError, ValueError) as exc:
        raise KeyLookupFailed(f"the identity provider's discovery document cannot be fetched "
                              f"({describe(exc)})") from None
    return checked_discovery(doc, issuer, "jwks_uri")


def signing_keys(jwks: Any) -> dict[str, PyJWK]:
    """The RS256/ES256 signing keys of a JWKS by kid; other keys (encryption, HMAC, other
    algorithms, without a kid) are left out."""
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        raise KeyLookupFailed("the issuer's JWKS is not a JSON Web Key Set")
    keys: dict[str, PyJWK] = {}
    for jwk in jwks["keys"]:
        if not isinstance(jwk, dict) or not isinstance(jwk.get("kid"), str) or jwk.get("use", "sig") != "sig":
            continue
        try:
            key = PyJWK(jwk)
        except PyJWTError:
            continue
        if key.algorithm_name in ACCEPTED_ALGORITHMS:
            keys[jwk["kid"]] = key
    return keys


def describe(exc: Exception) -> str:
    if isinstance(exc, httpx.HTTPStatusError):
        return f"HTTP {exc.response.status_code}"
    return type(exc).__name__


class IssuerKeys:
    """The issuer's keys, held for every request of the process. ``jwks``: keys to start with
    (tests, or a deployment that pins them); ``fetch_json``: how to GET (tests pass a fake)."""

    def __init__(self, issuer: str | None, *, refresh_interval_s: float = 10, timeout_s: float = 5,
                 fetch_json: FetchJson | None = None, jwks: dict | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.issuer = issuer
        self.refresh_interval_s = refresh_interval_s
        self._fetch_json = fetch_json or http_json(timeout_s)
        self._clock = clock
        self._keys: dict[str, PyJWK] = signing_keys(jwks) if jwks is not None else {}
        self._jwks_uri: str | None = None
        self._last_fetch: float | None = None
        self._last_error: str | None = None
        self._lock = asyncio.Lock()
        self.fetches = 0
        """JWKS fetches attempted (what the rate limit bounds)."""

    @classmethod
    def from_jwks(cls, jwks: dict, issuer: str | None = None, **kwargs) -> "IssuerKeys":
        return cls(issuer, jwks=jwks, **kwargs)

    @property
    def held(self) -> tuple[str, ...]:
        """The kids of the keys held."""
        return tuple(self._keys)

    async def key(self, kid: str) -> PyJWK:
        """The key named ``kid``; fetches the JWKS again when it is not held (rate-limited)."""
        if (key := self._keys.get(kid)) is not None:
            return key
        async with self._lock:  # concurrent unknown kids share one fetch
            if (key := self._keys.get(kid)) is not None:
                return key  # fetched by the request before this one
            now = self._clock()
            if self._last_fetch is not None and now - self._last_fetch < self.refresh_interval_s:
                raise KeyLookupFailed(self._not_held())
            self._last_fetch = now
            await self._refresh()
        if (key := self._keys.get(kid)) is None:
            log.warning("token.unknown_kid", kid=kid[:64], held=list(self._keys))
            raise KeyLookupFailed(self._not_held())
        return key

    def _not_held(self) -> str:
        if not self._keys and self._last_error:
            return f"the identity provider's keys are not available ({self._last_error}); try again later"
        return "the token's signing key (kid) is not one of the issuer's keys"

    async def _refresh(self) -> None:
        self.fetches += 1
        try:
            if self.issuer is None:
                raise KeyLookupFailed("no issuer configured to fetch keys from")
            if self._jwks_uri is None:
                self._jwks_uri = (await discover(self.issuer, self._fetch_json))["jwks_uri"]
            try:
                jwks = await self._fetch_json(self._jwks_uri)
            except (httpx.HTTPError, ValueError) as exc:
                self._jwks_uri = None  # discovered again next time: the provider may have moved it
                raise KeyLookupFailed(f"the identity provider's keys cannot be fetched ({describe(exc)})") from None
            keys = signing_keys(jwks)
            if not keys:
                raise KeyLookupFailed("the issuer's JWKS holds no RS256 or ES256 signing key")
        except KeyLookupFailed as exc:
            self._last_error = str(exc)
            log.warning("token.keys_not_fetched", reason=str(exc), keys_held=len(self._keys))
            if not self._keys:
                raise
            return  # the keys held stay usable
        self._keys, self._last_error = keys, None
        log.info("token.keys_fetched", kids=list(keys))
