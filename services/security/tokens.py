"""OAuth2 bearer tokens: access tokens (JWTs) of the deployment's OpenID Connect issuer, signed
RS256 or ES256 with a key of its JWKS (services.security.oidc). The services only verify; none
holds a key that can sign.

A token is accepted when: its algorithm is RS256 or ES256 (anything else, an HS256 token signed
with the public key or ``alg: none`` among them, is refused before any key is looked up); its
``kid`` names a key of the issuer's; the signature verifies; ``iss`` is the issuer and ``aud``
names the audience; ``exp``, ``iat`` and ``sub`` are there; it has not expired, was not issued in
the future, and was issued at most ``max_age_s`` ago (clock skew: ``leeway_s``, at most 120 s);
it is not an ID token (a Keycloak ``typ: ID``).

Its claims become a Principal by the configured claim names (a dotted name is a path into nested
claims, unless the token has a claim of that literal name): the roles (only the roles of this
system are kept: an identity provider adds its own, e.g. Keycloak's ``offline_access``), the
tenant, the programs, and, for a ``participant``, the participant it speaks for.

The tenant claim may be missing only from a token whose roles are all service roles
(``workflow``, the flow server's client-credentials identity): that role is deployment-wide, its
Principal's tenant is ``""`` (it sees no participant by scope), and the tenant a flow run acts for
is named in each request and checked by aftercare against the follow-up. Any other token without a
tenant is refused."""

import time
from dataclasses import dataclass
from typing import Any

import jwt

from .oidc import ACCEPTED_ALGORITHMS, IssuerKeys, KeyLookupFailed
from .principal import Principal
from .roles import Role
from .settings import AuthSettings

REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub"]
SERVICE_ROLES = frozenset({Role.WORKFLOW.value})
"""Roles of a deployment's own services, not of people: such a token needs no tenant claim."""
KNOWN_ROLES = frozenset(r.value for r in Role)


class InvalidToken(Exception):
    """Missing, malformed, wrongly signed, expired, too old, or for another issuer or audience:
    the message says which (it is sent back in ``WWW-Authenticate``)."""


@dataclass(frozen=True)
class ClaimNames:
    roles: str = "realm_access.roles"
    tenant: str = "tenant"
    programs: str = "programs"
    participant: str = "participant_id"


_MISSING = object()


def claim(claims: dict[str, Any], name: str) -> Any:
    """The claim called ``name``, or at the dotted path ``name`` (``realm_access.roles``);
    ``_MISSING`` when there is none."""
    if name in claims:
        return claims[name]
    value: Any = claims
    for part in name.split("."):
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _strings(claims: dict[str, Any], name: str) -> tuple[str, ...]:
    value = claim(claims, name)
    if value is _MISSING or value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidToken(f"malformed token: the {name} claim is not a list of strings")
    return tuple(dict.fromkeys(value))


def principal_from_claims(claims: dict[str, Any], names: ClaimNames = ClaimNames()) -> Principal:
    """The verified claims as a Principal (see the module's docstring for the tenant rule)."""
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise InvalidToken("malformed token: no subject (sub)")
    roles = tuple(r for r in _strings(claims, names.roles) if r in KNOWN_ROLES)
    programs = _strings(claims, names.programs)
    tenant = claim(claims, names.tenant)
    if tenant is _MISSING or tenant is None:
        if not roles or not set(roles) <= SERVICE_ROLES:
            raise InvalidToken(f"the token names no tenant (claim {names.tenant}); only a service's token "
                               f"({', '.join(sorted(SERVICE_ROLES))}) may omit it")
        tenant = ""
    elif not isinstance(tenant, str) or not tenant:
        raise InvalidToken(f"malformed token: the {names.tenant} claim is not a tenant id")
    participant_id = None
    if Role.PARTICIPANT.value in roles:
        participant_id = claim(claims, names.participant)
        if not isinstance(participant_id, str) or not participant_id:
            raise InvalidToken(f"a participant's token must name its participant (claim {names.participant})")
    return Principal(subject=subject, roles=roles, tenant=tenant, programs=programs, participant_id=participant_id)


class TokenVerifier:
    """Verifies access tokens with the issuer's keys; one per process (the keys are cached)."""

    def __init__(self, keys: IssuerKeys, *, issuer: str, audience: str, max_age_s: float = 3600,
                 leeway_s: float = 30, claim_names: ClaimNames = ClaimNames()):
        if not 0 <= leeway_s <= 120:
            raise ValueError("leeway_s: 0 to 120 seconds")
        self.keys, self.issuer, self.audience = keys, issuer, audience
        self.max_age_s, self.leeway_s, self.claim_names = max_age_s, leeway_s, claim_names

    @classmethod
    def from_settings(cls, settings: AuthSettings, keys: IssuerKeys | None = None) -> "TokenVerifier":
        if not settings.issuer:
            raise ValueError("no issuer: set CONTINUUM_AUTH_ISSUER")
        keys = keys or IssuerKeys(settings.issuer, refresh_interval_s=settings.jwks_refresh_seconds,
                                  timeout_s=settings.http_timeout_seconds)
        return cls(keys, issuer=settings.issuer, audience=settings.audience,
                   max_age_s=settings.max_token_age_seconds, leeway_s=settings.leeway_seconds,
                   claim_names=ClaimNames(settings.roles_claim, settings.tenant_claim, settings.programs_claim,
                                          settings.participant_claim))

    async def verify(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise InvalidToken("malformed token: not a signed JWT") from None
        alg = header.get("alg")
        if alg not in ACCEPTED_ALGORITHMS:  # before any key lookup: an HS256 token never meets a key
            shown = alg if isinstance(alg, str) and alg.isalnum() and len(alg) <= 16 else "unknown"
            raise InvalidToken(f"the token's algorithm ({shown}) is not accepted: {' or '.join(ACCEPTED_ALGORITHMS)} "
                               "only")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise InvalidToken("the token names no signing key (kid)")
        try:
            key = await self.keys.key(kid)
        except KeyLookupFailed as exc:
            raise InvalidToken(str(exc)) from None
        if key.algorithm_name != alg:
            raise InvalidToken(f"the token's algorithm ({alg}) is not its key's ({key.algorithm_name})")
        try:
            claims = jwt.decode(token, key, algorithms=[alg], audience=self.audience, issuer=self.issuer,
                                leeway=self.leeway_s, options={"require": REQUIRED_CLAIMS, "verify_sub": True})
        except jwt.ExpiredSignatureError:
            raise InvalidToken("the token has expired") from None
        except jwt.InvalidSignatureError:
            raise InvalidToken("the token's signature does not verify") from None
        except jwt.InvalidAudienceError:
            raise InvalidToken(f"the token is not for this audience ({self.audience})") from None
        except jwt.InvalidIssuerError:
            raise InvalidToken("the token is not from the configured issuer") from None
        except jwt.MissingRequiredClaimError as exc:
            raise InvalidToken(f"the token lacks the {exc.claim} claim") from None
        except jwt.ImmatureSignatureError:
            raise InvalidToken("the token is not valid yet (iat or nbf in the future)") from None
        except jwt.InvalidTokenError as exc:
            raise InvalidToken(f"invalid token ({type(exc).__name__})") from None
        age = time.time() - claims["iat"]
        if age > self.max_age_s + self.leeway_s:
            raise InvalidToken(f"the token was issued {int(age)} s ago: more than the {int(self.max_age_s)} s "
                               "accepted")
        if claims.get("typ") == "ID":
            raise InvalidToken("an ID token, not an access token")
        return principal_from_claims(claims, self.claim_names)
