"""A pretend OpenID Connect issuer for tests without a network: its own RSA and EC keys, its
JWKS and discovery document, access tokens signed like Keycloak's, and a fake fetcher that
counts what a verifier asks it for."""

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

ISSUER = "http://127.0.0.1:8080/realms/continuum"
AUDIENCE = "continuum-api"


def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def ec_key():
    return ec.generate_private_key(ec.SECP256R1())


def public_jwk(private_key, kid: str) -> dict[str, Any]:
    if isinstance(private_key, rsa.RSAPrivateKey):
        jwk = RSAAlgorithm.to_jwk(private_key.public_key(), as_dict=True) | {"alg": "RS256"}
    else:
        jwk = ECAlgorithm.to_jwk(private_key.public_key(), as_dict=True) | {"alg": "ES256"}
    return jwk | {"kid": kid, "use": "sig"}


def public_pem(private_key) -> bytes:
    return private_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo)


@dataclass
class Issuer:
    issuer: str = ISSUER
    keys: dict[str, Any] = field(default_factory=dict)  # kid -> private key
    down: bool = False
    requests: list[str] = field(default_factory=list)

    def __post_init__(self):
        if not self.keys:
            self.keys = {"rsa-1": rsa_key(), "ec-1": ec_key()}

    def jwks(self) -> dict:
        enc = {"kty": "RSA", "use": "enc", "alg": "RSA-OAEP", "kid": "enc-1",
               **{k: v for k, v in public_jwk(next(iter(self.keys.values())), "x").items() if k in ("n", "e")}}
        return {"keys": [public_jwk(k, kid) for kid, k in self.keys.items()] + [enc]}

    def discovery(self) -> dict:
        return {"issuer": self.issuer, "jwks_uri": f"{self.issuer}/protocol/openid-connect/certs",
                "token_endpoint": f"{self.issuer}/protocol/openid-connect/token"}

    async def fetch_json(self, url: str) -> Any:
        self.requests.append(url)
        if self.down:
            raise httpx.ConnectError("connection refused")
        if url.endswith("/.well-known/openid-configuration"):
            return self.discovery()
        if url == self.discovery()["jwks_uri"]:
            return self.jwks()
        raise httpx.HTTPStatusError("not found", request=httpx.Request("GET", url),
                                    response=httpx.Response(404))

    def claims(self, **changes) -> dict[str, Any]:
        now = int(time.time())
        base = {"iss": self.issuer, "aud": [AUDIENCE, "account"], "sub": str(uuid.uuid4()), "typ": "Bearer",
                "iat": now, "exp": now + 300, "azp": "continuum-scripts",
                "realm_access": {"roles": ["default-roles-continuum", "offline_access", "clinician"]},
                "tenant": "demo-network", "programs": ["adult-mh", "adolescent"]}
        for name, value in changes.items():
            if value is None:
                base.pop(name, None)
            else:
                base[name] = value
        return base

    def token(self, kid: str = "rsa-1", key=None, alg: str | None = None, headers: dict | None = None,
              **claims) -> str:
        key = key if key is not None else self.keys[kid]
        alg = alg or ("RS256" if isinstance(key, rsa.RSAPrivateKey) else "ES256")
        return jwt.encode(self.claims(**claims), key, algorithm=alg, headers={"kid": kid, **(headers or {})})
