"""Request bodies are strict: unknown fields, numbers or answers sent as strings and
over-long lists are refused, each naming its field; the OpenAPI documents declare the
error answers every route may give, with one body shape."""

import pytest
from pydantic import ValidationError

from services.aftercare.api import Confirmation, FlowCall, RecordCheckIn, RelapsePreventionPlan
from services.intake import commands as intake
from services.planning.commands import InterventionChange, RevisePlan
from services.scheduling.api import CancelSession, ChangeAvailability, RecordAttendance
from services.web.safety_flag_routes import Resolution

CHECK_IN = {"phq9_total": 4, "phq9_item9": 0, "substance_use_since_last_contact": False,
            "engaged_with_step_down_provider": True, "housing_stable": True, "work_or_school_stable": True}
RPP = {"triggers": ["payday"], "warning_signs": ["sleeping badly"], "coping_strategies": ["call my sister"],
       "supports": [{"name": "Sam"}], "crisis_resources": ["988"]}


def refused(model, body: dict) -> dict:
    with pytest.raises(ValidationError) as err:
        model.model_validate(body)
    return err.value.errors()[0]


def test_items_and_answers_are_not_coerced_from_strings():
    assert refused(intake.Phq9, {"items": ["2"] + [0] * 8})["loc"] == ("items", 0)
    assert refused(intake.Dast10, {"answers": ["yes"] + [False] * 9})["loc"] == ("answers", 0)
    assert refused(intake.CssrsScreener, {"q1": 1, "q2": False, "q6": False})["loc"] == ("q1",)
    assert refused(RecordCheckIn, {**CHECK_IN, "phq9_total": "4"})["loc"] == ("phq9_total",)
    assert refused(RecordCheckIn, {**CHECK_IN, "housing_stable": "true"})["loc"] == ("housing_stable",)
    assert refused(RecordAttendance, {"status": "attended", "minutes_attended": "60"})["loc"] == ("minutes_attended",)


def test_a_plan_revision_is_strict():
    body = {"base_version": 1, "reason_code": "participant_request", "expected_weeks": 8}
    assert RevisePlan.model_validate(body).expected_weeks == 8
    assert refused(RevisePlan, {**body, "base_version": "1"})["loc"] == ("base_version",)
    e = refused(RevisePlan, {**body, "revised_by": {"staff_id": "s-1"}})
    assert e["type"] == "extra_forbidden" and e["loc"] == ("revised_by",), "who revises is the token"
    e = refused(RevisePlan, {**body, "goals": []})
    assert e["type"] == "extra_forbidden" and e["loc"] == ("goals",)
    change = {"modality": "group_cbt_skills", "sessions_per_week": 1, "minutes": 90, "discipline": "clinician"}
    assert refused(InterventionChange, {**change, "problem_ids": ["p"] * 31})["loc"] == ("problem_ids",)


def test_aftercare_lists_and_lines_are_bounded():
    assert RelapsePreventionPlan.model_validate(RPP).triggers == ["payday"]
    assert refused(RelapsePreventionPlan, {**RPP, "triggers": ["x" * 1001]})["loc"] == ("triggers", 0)
    assert refused(RelapsePreventionPlan, {**RPP, "triggers": ["x"] * 31})["loc"] == ("triggers",)
    assert refused(RelapsePreventionPlan, {**RPP, "supports": [{"name": "Sam", "phone": "call me"}]})["loc"] == (
        "supports", 0, "phone")
    assert refused(FlowCall, {"tenant_id": "t1", "as_of": None, "step": "open"})["loc"] == ("step",)


def test_a_flow_run_names_the_tenant_it_acts_for():
    assert FlowCall.model_validate({"tenant_id": "t1"}).tenant_id == "t1"
    e = refused(FlowCall, {"as_of": None})
    assert (e["type"], e["loc"]) == ("missing", ("tenant_id",))
    assert refused(FlowCall, {"tenant_id": "t1/../t2"})["loc"] == ("tenant_id",)


@pytest.mark.parametrize("model, body, field", [
    (Confirmation, {"confirmed_by_participant": True}, "confirmed_by_participant"),
    (Confirmation, {"reviewed_with": "staff-17"}, "reviewed_with"),
    (RecordCheckIn, {**CHECK_IN, "recorded_by": "staff-1"}, "recorded_by"),
    (RecordAttendance, {"status": "attended", "recorded_by": "staff-1"}, "recorded_by"),
    (CancelSession, {"reason_code": "participant_ill", "cancelled_by": "staff-1"}, "cancelled_by"),
    (Resolution, {"action_taken": "safety_plan", "resolved_by": "staff-1"}, "resolved_by"),
    (Resolution, {"action_taken": "safety_plan", "acknowledged_by": "staff-1"}, "acknowledged_by"),
])
def test_a_body_naming_who_acts_is_refused_naming_the_field(model, body, field):
    """Who acts is the token's subject: scheduling, aftercare and the safety-flag routes take no
    actor from a body (issue 14); the 422 names the field."""
    e = refused(model, body)
    assert (e["type"], e["loc"]) == ("extra_forbidden", (field,))


def test_availability_times_carry_no_offset():
    """Found by schemathesis: "06:40:03Z" was accepted and the placement then compared it with
    the program's times (a TypeError, a 500 for the API, a dead letter for an event)."""
    e = refused(ChangeAvailability, {"windows": [{"day": "tue", "start": "06:40:03Z", "end": "22:52:33Z"}]})
    assert e["loc"] == ("windows", 0, "start") and "without an offset" in e["msg"]
    e = refused(intake.Window, {"day": "mon", "start": "17:00", "end": "21:00+01:00"})
    assert e["loc"] == ("end",)
    window = {"day": "mon", "start": "17:00", "end": "21:00"}
    assert ChangeAvailability.model_validate({"windows": [window]}).windows[0].end.hour == 21


@pytest.mark.parametrize("service", ["intake", "planning", "scheduling", "aftercare", "operations"])
def test_every_route_documents_its_errors_with_one_body(service, monkeypatch, tmp_path):
    import importlib

    monkeypatch.setenv("CONTINUUM_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CONTINUUM_ENVIRONMENT", "development")  # the default is production
    monkeypatch.setenv("CONTINUUM_AUTH_ISSUER", "http://127.0.0.1:9/realms/continuum")  # never fetched here
    spec = importlib.import_module(f"services.{service}.app").create_app().openapi()
    error_body = {"$ref": "#/components/schemas/ErrorBody"}
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            responses = op["responses"]
            assert responses["413"]["content"]["application/json"]["schema"] == error_body, (method, path)
            if "422" in responses:
                assert responses["422"]["content"]["application/json"]["schema"] == error_body, (method, path)
            if op.get("parameters") or "requestBody" in op:
                assert "422" in responses, (method, path)
    assert "HTTPValidationError" not in spec["components"]["schemas"]
