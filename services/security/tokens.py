"""OAuth2 bearer tokens: JWTs signed with HS256 (PyJWT). A token names its subject, roles,
tenant and programs, and is checked for signature, expiry, issuer and audience."""

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import jwt

from .principal import Principal

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub", "roles", "tenant", "programs"]


class InvalidToken(Exception):
    """Missing, malformed, badly signed, expired, or for another issuer or audience."""


def issue_token(key: str, *, subject: str, roles: Iterable[str], tenant: str, programs: Iterable[str],
                issuer: str, audience: str, lifetime: timedelta = timedelta(hours=1),
                now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    claims = {"sub": subject, "roles": list(roles), "tenant": tenant, "programs": list(programs),
              "iss": issuer, "aud": audience, "iat": now, "nbf": now, "exp": now + lifetime,
              "jti": uuid.uuid4().hex}
    return jwt.encode(claims, key, algorithm=ALGORITHM)


def read_token(token: str, key: str, *, issuer: str, audience: str, leeway_s: float = 10) -> Principal:
    try:
        claims = jwt.decode(token, key, algorithms=[ALGORITHM], audience=audience, issuer=issuer, leeway=leeway_s,
                            options={"require": REQUIRED_CLAIMS})
    except jwt.ExpiredSignatureError:
        raise InvalidToken("the token has expired") from None
    except jwt.InvalidTokenError as exc:
        raise InvalidToken(f"invalid token: {type(exc).__name__}") from None
    roles, programs = claims["roles"], claims["programs"]
    if not (isinstance(roles, list) and all(isinstance(r, str) for r in roles)
            and isinstance(programs, list) and all(isinstance(p, str) for p in programs)
            and isinstance(claims["tenant"], str) and claims["tenant"] and isinstance(claims["sub"], str)):
        raise InvalidToken("invalid token: malformed claims")
    return Principal(subject=claims["sub"], roles=tuple(roles), tenant=claims["tenant"], programs=tuple(programs))


class TokenAuthority:
    """The deployment's key and its token rules, held by each service (and the dev clients)."""

    def __init__(self, key: str, *, issuer: str, audience: str, lifetime: timedelta, leeway_s: float):
        self._key = key
        self.issuer, self.audience, self.lifetime, self.leeway_s = issuer, audience, lifetime, leeway_s

    @classmethod
    def from_settings(cls, key: str, settings) -> "TokenAuthority":
        return cls(key, issuer=settings.issuer, audience=settings.audience,
                   lifetime=timedelta(minutes=settings.token_minutes), leeway_s=settings.leeway_seconds)

    def issue(self, *, subject: str, roles: Iterable[str], tenant: str, programs: Iterable[str]) -> str:
        return issue_token(self._key, subject=subject, roles=roles, tenant=tenant, programs=programs,
                           issuer=self.issuer, audience=self.audience, lifetime=self.lifetime)

    def read(self, token: str) -> Principal:
        return read_token(token, self._key, issuer=self.issuer, audience=self.audience, leeway_s=self.leeway_s)
