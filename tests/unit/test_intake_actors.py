"""Who acts in intake is the caller's token (issue 14), through intake's routes on its app (a
real SQLite store; no Kafka: the lifespan is not run). A body that still names a signer is
refused with 422 naming the field; the psychiatric/medical section needs a psychiatrist's token;
what is recorded names the token's subject and the role that allowed the act.

Who calls is said by the test (tests/support/app_with_people.py): the verification of real tokens
is services/security's."""

import pytest

from deploy.demo_cohort import assessment, referral
from services.security.principal import Principal
from tests.support.app_with_people import app_with_people, as_

PEOPLE = {
    "clin": Principal("kc-clin-7", ("clinician",), "demo-network", ("adult-mh",)),
    "psy": Principal("kc-psy-2", ("psychiatrist",), "demo-network", ("adult-mh",)),
    "cm": Principal("kc-cm-1", ("case_manager",), "demo-network", ("adult-mh",)),
}


def _create_app():
    from services.intake.app import create_app
    return create_app()


@pytest.fixture
async def intake(tmp_path, monkeypatch):
    async with app_with_people("intake", _create_app, PEOPLE, tmp_path, monkeypatch) as client:
        yield client


async def open_assessment(http) -> str:
    r = await http.post("/referrals", json=referral(1), headers=as_("clin"))
    assert r.status_code == 201, r.text
    r = await http.post(f"/participants/{r.json()['participant_id']}/assessments", json={"kind": "initial"},
                        headers=as_("clin"))
    assert r.status_code == 201, r.text
    return r.json()["assessment_id"]


async def test_a_body_naming_a_signer_is_422_naming_the_field(intake):
    aid = await open_assessment(intake)
    body = {**assessment(1)["sections"]["clinical_interview"], "signer": {"staff_id": "s-1", "role": "clinician"}}
    r = await intake.put(f"/assessments/{aid}/sections/clinical_interview", json=body, headers=as_("clin"))
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "signer"]
    r = await intake.post(f"/assessments/{aid}/sections/clinical_interview/signature",
                          json={"signer": {"staff_id": "s-1", "role": "clinician"}}, headers=as_("clin"))
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "signer"]
    r = await intake.post(f"/assessments/{aid}/instruments/phq9",
                          json={"items": [0] * 9, "administered_by": {"staff_id": "s-1", "role": "clinician"}},
                          headers=as_("clin"))
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "administered_by"]


async def test_the_psychiatric_section_needs_a_psychiatrists_token(intake):
    aid = await open_assessment(intake)
    path = f"/assessments/{aid}/sections/psychiatric_medical"
    medical = assessment(1)["sections"]["psychiatric_medical"]
    for who in ("clin", "cm"):
        r = await intake.put(path, json=medical, headers=as_(who))
        assert r.status_code == 403
        assert "needs one of: nurse_practitioner, physician, psychiatrist" in r.json()["detail"]
    r = await intake.put(path, json=medical, headers=as_("psy"))
    assert r.status_code == 200 and r.json()["recorded_by"] == {"id": "kc-psy-2", "role": "psychiatrist"}
    assert (await intake.post(f"{path}/signature", headers=as_("clin"))).status_code == 403
    r = await intake.post(f"{path}/signature", headers=as_("psy"))
    assert r.status_code == 200 and (r.json()["signed_by"], r.json()["signed_role"]) == ("kc-psy-2", "psychiatrist")
    shown = (await intake.get(f"/assessments/{aid}", headers=as_("clin"))).json()["sections"]
    assert [(s["signed_by"], s["signed_role"]) for s in shown] == [("kc-psy-2", "psychiatrist")]


async def test_an_idempotent_retry_of_a_signature_is_answered_once(intake):
    aid = await open_assessment(intake)
    path = f"/assessments/{aid}/sections/psychosocial"
    assert (await intake.put(path, json=assessment(1)["sections"]["psychosocial"], headers=as_("cm"))
            ).status_code == 200
    key = {"Idempotency-Key": "sign-1", **as_("cm")}
    first, again = [await intake.post(f"{path}/signature", headers=key) for _ in range(2)]
    assert first.status_code == again.status_code == 200 and first.json() == again.json()
    other = await intake.post(f"/assessments/{aid}/sections/clinical_interview/signature",
                              headers={"Idempotency-Key": "sign-1", **as_("cm")})
    assert other.status_code == 422 and other.json()["header"] == "Idempotency-Key"
