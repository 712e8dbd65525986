"""The token verifier without a network: a pretend issuer (tests/unit/oidc_tokens.py) with its
own RSA and EC keys; the verifier's key cache is fed its JWKS directly, or fetches through a
fake that counts requests. Every refusal is an InvalidToken naming its reason."""

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest

from services.security.oidc import IssuerKeys, KeyLookupFailed, signing_keys
from services.security.principal import Principal
from services.security.tokens import ClaimNames, InvalidToken, TokenVerifier, principal_from_claims

from .oidc_tokens import AUDIENCE, ISSUER, Issuer, ec_key, public_pem, rsa_key


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def verifier(idp: Issuer, *, held: bool = True, clock=None, **options) -> TokenVerifier:
    keys = IssuerKeys(idp.issuer, fetch_json=idp.fetch_json, refresh_interval_s=10, clock=clock or Clock(),
                      jwks=idp.jwks() if held else None)
    return TokenVerifier(keys, issuer=ISSUER, audience=AUDIENCE, max_age_s=3600, leeway_s=0, **options)


async def refused(v: TokenVerifier, token: str, reason: str) -> None:
    with pytest.raises(InvalidToken, match=reason):
        await v.verify(token)


def hs256(secret: bytes, header: dict, claims: dict) -> str:
    """A token signed HS256 by hand (PyJWT itself refuses to use a public key as an HMAC secret)."""
    def part(obj: dict) -> bytes:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=")

    signing_input = part(header) + b"." + part(claims)
    signature = base64.urlsafe_b64encode(hmac.new(secret, signing_input, hashlib.sha256).digest()).rstrip(b"=")
    return (signing_input + b"." + signature).decode()


# --- good tokens ---------------------------------------------------------------------------


@pytest.mark.parametrize("kid", ["rsa-1", "ec-1"])
async def test_a_good_rs256_or_es256_token_is_the_principal_it_names(kid):
    idp = Issuer()
    token = idp.token(kid, sub="2f0c-user")
    assert await verifier(idp).verify(token) == Principal("2f0c-user", ("clinician",), "demo-network",
                                                          ("adult-mh", "adolescent"))
    assert idp.requests == [], "the keys were held: nothing fetched"


async def test_the_first_token_discovers_and_fetches_the_keys_once():
    idp = Issuer()
    v = verifier(idp, held=False)
    for _ in range(3):
        await v.verify(idp.token())
    await v.verify(idp.token("ec-1"))
    assert idp.requests == [f"{ISSUER}/.well-known/openid-configuration", f"{ISSUER}/protocol/openid-connect/certs"]
    assert set(v.keys.held) == {"rsa-1", "ec-1"}, "the encryption key is not a signing key"


# --- forged, expired, misdirected ----------------------------------------------------------


async def test_a_self_signed_token_with_the_right_claims_and_kid_is_refused():
    idp = Issuer()
    await refused(verifier(idp), idp.token("rsa-1", key=rsa_key()), "signature does not verify")
    await refused(verifier(idp), idp.token("ec-1", key=ec_key()), "signature does not verify")


async def test_an_expired_token_is_refused():
    idp = Issuer()
    now = int(time.time())
    await refused(verifier(idp), idp.token(iat=now - 600, exp=now - 60), "expired")


async def test_a_token_for_another_audience_or_from_another_issuer_is_refused():
    idp = Issuer()
    await refused(verifier(idp), idp.token(aud="account"), "not for this audience")
    await refused(verifier(idp), idp.token(iss="http://127.0.0.1:8080/realms/other"), "not from the configured issuer")


async def test_an_hs256_token_signed_with_the_public_key_is_refused_before_any_key_lookup():
    idp = Issuer()
    v = verifier(idp, held=False)
    claims = idp.claims()
    for secret in (public_pem(idp.keys["rsa-1"]), json.dumps(idp.jwks()["keys"][0]).encode()):
        await refused(v, hs256(secret, {"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}, claims),
                      r"algorithm \(HS256\) is not accepted")
    assert idp.requests == [] and v.keys.fetches == 0


async def test_an_unsigned_token_is_refused():
    idp = Issuer()
    unsigned = jwt.encode(idp.claims(), None, algorithm="none", headers={"kid": "rsa-1"})
    await refused(verifier(idp), unsigned, r"algorithm \(none\) is not accepted")
    await refused(verifier(idp), "not-a-token", "not a signed JWT")


async def test_a_token_whose_algorithm_is_not_its_keys_is_refused():
    idp = Issuer()
    # an ES256 header naming the RSA key: never verified with the RSA key as an EC one
    await refused(verifier(idp), idp.token("rsa-1", key=idp.keys["ec-1"], alg="ES256"), "not its key's")


async def test_a_token_too_old_by_its_iat_is_refused_though_not_expired():
    idp = Issuer()
    now = int(time.time())
    await refused(verifier(idp), idp.token(iat=now - 3700, exp=now + 300), "issued 3700 s ago")
    assert await verifier(idp).verify(idp.token(iat=now - 3500, exp=now + 300))


async def test_a_token_issued_in_the_future_or_without_exp_or_iat_is_refused():
    idp = Issuer()
    now = int(time.time())
    await refused(verifier(idp), idp.token(iat=now + 300, exp=now + 600), "not valid yet")
    await refused(verifier(idp), idp.token(exp=None), "lacks the exp claim")
    await refused(verifier(idp), idp.token(iat=None), "lacks the iat claim")
    await refused(verifier(idp), idp.token(sub=None), "lacks the sub claim")


async def test_the_leeway_covers_a_little_skew_only():
    idp = Issuer()
    now = int(time.time())
    token = idp.token(iat=now - 600, exp=now - 20)
    await refused(verifier(idp), token, "expired")  # no leeway
    lenient = TokenVerifier(IssuerKeys.from_jwks(idp.jwks()), issuer=ISSUER, audience=AUDIENCE, leeway_s=30)
    assert (await lenient.verify(token)).tenant == "demo-network"
    await refused(lenient, idp.token(iat=now - 600, exp=now - 60), "expired")
    with pytest.raises(ValueError):
        TokenVerifier(IssuerKeys.from_jwks(idp.jwks()), issuer=ISSUER, audience=AUDIENCE, leeway_s=121)


async def test_an_id_token_is_not_an_access_token():
    idp = Issuer()
    await refused(verifier(idp), idp.token(typ="ID"), "ID token")


# --- unknown kids: one refresh, rate-limited ---------------------------------------------


async def test_an_unknown_kid_fetches_the_keys_once_then_refuses():
    idp = Issuer()
    v = verifier(idp)
    await refused(v, idp.token("forged", key=rsa_key()), "not one of the issuer's keys")
    assert v.keys.fetches == 1 and len(idp.requests) == 2  # discovery, then the JWKS


async def test_unknown_kids_fetch_at_most_once_per_interval():
    idp, clock = Issuer(), Clock()
    v = verifier(idp, clock=clock)
    for i in range(50):
        await refused(v, idp.token(f"forged-{i}", key=rsa_key() if i == 0 else idp.keys["rsa-1"]),
                      "not one of the issuer's keys")
    assert v.keys.fetches == 1, "forged kids cause no fetch storm"
    clock.now += 10
    await refused(v, idp.token("forged-again", key=idp.keys["rsa-1"]), "not one of the issuer's keys")
    assert v.keys.fetches == 2


async def test_a_rotated_key_is_found_by_the_refresh_and_a_withdrawn_one_is_dropped():
    idp, clock = Issuer(), Clock()
    v = verifier(idp, clock=clock)
    idp.keys = {"rsa-2": rsa_key()}  # the provider rotated its keys
    assert (await v.verify(idp.token("rsa-2"))).tenant == "demo-network"
    assert v.keys.held == ("rsa-2",)


async def test_keys_held_keep_verifying_while_the_provider_is_down():
    idp, clock = Issuer(), Clock()
    v = verifier(idp, held=False, clock=clock)
    await v.verify(idp.token())
    idp.down = True
    clock.now += 60
    await refused(v, idp.token("new-kid", key=rsa_key()), "not one of the issuer's keys")  # a failed refresh...
    assert v.keys.fetches == 2
    assert await v.verify(idp.token("rsa-1")) and await v.verify(idp.token("ec-1"))  # ...keeps the keys held


async def test_a_provider_down_before_any_key_is_held_is_a_clear_refusal_then_recovers():
    idp, clock = Issuer(down=True), Clock()
    v = verifier(idp, held=False, clock=clock)
    await refused(v, idp.token(), "discovery document cannot be fetched")
    await refused(v, idp.token(), "keys are not available")  # within the interval: no new fetch
    assert v.keys.fetches == 1
    idp.down = False
    clock.now += 10
    assert await v.verify(idp.token())


async def test_a_discovery_document_of_another_issuer_is_refused():
    idp = Issuer()
    keys = IssuerKeys("http://127.0.0.1:8080/realms/elsewhere", fetch_json=idp.fetch_json)
    with pytest.raises(KeyLookupFailed, match="names issuer"):
        await keys.key("rsa-1")


def test_only_rs256_and_es256_signing_keys_with_a_kid_are_kept():
    idp = Issuer()
    jwks = idp.jwks()
    jwks["keys"] += [{"kty": "oct", "k": "c2VjcmV0", "kid": "hmac", "alg": "HS256"},
                     {**jwks["keys"][0], "kid": None}, {**jwks["keys"][0], "kid": "rs512", "alg": "RS512"}]
    assert set(signing_keys(jwks)) == {"rsa-1", "ec-1"}
    with pytest.raises(KeyLookupFailed):
        signing_keys({"not": "a jwks"})


# --- claims ------------------------------------------------------------------------------


def claims(**changes) -> dict:
    return Issuer().claims(sub="u-1", **changes)


def test_roles_tenant_and_programs_come_from_the_configured_claims_by_dotted_path():
    entra = ClaimNames(roles="roles", tenant="ext.org.tenant", programs="ext.org.programs", participant="pid")
    token = claims(realm_access=None, tenant=None, programs=None, roles=["operations"],
                   ext={"org": {"tenant": "t-b", "programs": ["adult-mh"]}})
    assert principal_from_claims(token, entra) == Principal("u-1", ("operations",), "t-b", ("adult-mh",))
    literal = claims(**{"https://example.org/roles": ["scheduler"]})
    assert principal_from_claims(literal, ClaimNames(roles="https://example.org/roles")).roles == ("scheduler",)


def test_only_this_systems_roles_are_kept():
    p = principal_from_claims(claims(realm_access={"roles": ["offline_access", "scheduler", "admin", "scheduler"]}))
    assert p.roles == ("scheduler",)


def test_a_token_without_a_tenant_is_refused_unless_all_its_roles_are_service_roles():
    workflow = principal_from_claims(claims(tenant=None, programs=None,
                                            realm_access={"roles": ["default-roles-continuum", "workflow"]}))
    assert workflow == Principal("u-1", ("workflow",), "", ())
    for roles in (["clinician"], ["workflow", "clinician"], [], ["offline_access"]):
        with pytest.raises(InvalidToken, match="names no tenant"):
            principal_from_claims(claims(tenant=None, realm_access={"roles": roles}))


def test_malformed_claims_are_refused():
    with pytest.raises(InvalidToken, match="not a list of strings"):
        principal_from_claims(claims(realm_access={"roles": "clinician"}))
    with pytest.raises(InvalidToken, match="not a list of strings"):
        principal_from_claims(claims(programs="adult-mh"))
    with pytest.raises(InvalidToken, match="not a tenant id"):
        principal_from_claims(claims(tenant=["demo-network"]))


def test_a_participant_token_names_its_participant():
    p = principal_from_claims(claims(realm_access={"roles": ["participant"]}, participant_id="p-7"))
    assert p.participant_id == "p-7" and p.roles == ("participant",)
    with pytest.raises(InvalidToken, match="must name its participant"):
        principal_from_claims(claims(realm_access={"roles": ["participant"]}))
    assert principal_from_claims(claims(participant_id="p-7")).participant_id is None, "a clinician speaks for nobody"


# --- the route's side: 401 with WWW-Authenticate ----------------------------------------------


async def test_a_route_answers_401_with_the_reason_in_www_authenticate():
    import httpx
    from fastapi import FastAPI

    from services.security.dependencies import Access, authorized
    from services.security.headers import bearer
    from services.security.roles import Permission

    idp = Issuer()
    app = FastAPI()
    app.state.token_verifier = verifier(idp)

    @app.get("/plan")
    async def plan(access: Access = authorized(Permission.PLAN_READ)) -> dict:
        return {"actor": access.actor.id, "role": access.actor.role}

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        ok = await http.get("/plan", headers=bearer(idp.token(sub="u-9")))
        assert ok.json() == {"actor": "u-9", "role": "clinician"}
        missing = await http.get("/plan")
        assert missing.status_code == 401 and missing.headers["www-authenticate"] == 'Bearer realm="continuum"'
        forged = await http.get("/plan", headers=bearer(idp.token(key=rsa_key())))
        assert forged.status_code == 401
        assert forged.headers["www-authenticate"] == ('Bearer realm="continuum", error="invalid_token", '
                                                      'error_description="the token\'s signature does not verify"')
        scheduler = await http.get("/plan", headers=bearer(idp.token(realm_access={"roles": ["scheduler"]})))
        assert scheduler.status_code == 403
