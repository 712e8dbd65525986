"""Tokens an attacker could make, built from a real token of the identity provider: the same
claims signed with a key of the attacker's own (RS256, even with the provider's ``kid``), and
an HS256 token whose HMAC secret is the provider's public key (the classic algorithm
confusion). The services must refuse every one with 401."""

import base64
import hashlib
import hmac
import json

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def header_of(token: str) -> dict:
    return jwt.get_unverified_header(token)


def self_signed(real_token: str, kid: str | None = None, **changes) -> str:
    """The real token's claims (with ``changes``) and ``kid`` (or ``kid``), signed with a fresh RSA key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    return jwt.encode({**claims_of(real_token), **changes}, pem, algorithm="RS256",
                      headers={"kid": kid or header_of(real_token).get("kid")})


def provider_public_key_pem(issuer: str, kid: str) -> bytes:
    """The provider's published public key ``kid`` (from its JWKS), as PEM."""
    discovery = httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=10).json()
    for jwk in httpx.get(discovery["jwks_uri"], timeout=10).json()["keys"]:
        if jwk.get("kid") == kid:
            public = jwt.PyJWK(jwk).key
            return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    raise LookupError(f"no key {kid} in the provider's JWKS")


def hs256_with_public_key(real_token: str, issuer: str) -> str:
    """The real token's claims, HS256-signed with the provider's public key as the secret (PyJWT
    refuses to make such a token, so it is assembled by hand)."""
    kid = header_of(real_token)["kid"]
    secret = provider_public_key_pem(issuer, kid)
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    payload = _b64(json.dumps(claims_of(real_token)).encode())
    signature = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


def unsigned(real_token: str) -> str:
    """``alg: none``: the real token's claims with no signature at all."""
    header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{_b64(json.dumps(claims_of(real_token)).encode())}."


# -- real tokens the services must still refuse (made by the identity provider itself) ----------------

def _public_client(identity, client_id: str, **rep) -> None:
    """A public client of the realm allowing password sign-in, made once."""
    if identity.admin("GET", "/clients", params={"clientId": client_id}).json():
        return
    identity.admin("POST", "/clients", json={
        "clientId": client_id, "publicClient": True, "directAccessGrantsEnabled": True,
        "standardFlowEnabled": False, **rep})


def expired_token(identity, roles, tenant: str, programs, lifespan_s: int = 1) -> str:
    """A token Keycloak itself signed for a real user, from a client whose tokens live
    ``lifespan_s`` seconds: once that and the services' leeway have passed, it has expired."""
    _public_client(identity, "continuum-short-lived", attributes={"access.token.lifespan": str(lifespan_s)})
    username = f"short-lived-{'-'.join(sorted(map(str, roles)))}"[:60]
    identity.ensure_user(username, roles, tenant, programs)
    return identity.sign_in_through("continuum-short-lived", username)


def other_audience_token(identity, roles, tenant: str, programs) -> str:
    """A token Keycloak signed for a real user of the realm, but for another application: its
    audience is ``another-api``, not the services' (the realm's ``continuum`` scope is left out)."""
    _public_client(identity, "another-application", defaultClientScopes=["roles"], protocolMappers=[{
        "name": "audience", "protocol": "openid-connect", "protocolMapper": "oidc-audience-mapper",
        "config": {"included.custom.audience": "another-api", "access.token.claim": "true"}}])
    username = f"other-app-{'-'.join(sorted(map(str, roles)))}"[:60]
    identity.ensure_user(username, roles, tenant, programs)
    return identity.sign_in_through("another-application", username)
