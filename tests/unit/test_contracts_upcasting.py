"""The upcaster registry: an older version's payload read as the current version (the worked
example: a test-only v2 of SessionAttended, ``tests/support/upcasting_example.py``); a version
this code does not know, or a payload its upcaster cannot read, is an InvalidEvent with a
clear reason (dead-lettered by the consumer)."""

from datetime import UTC, datetime

import pytest

from services.contracts.codes import Modality
from services.contracts.envelope import EventContext, InvalidEvent, parse_data, wrap
from services.contracts.events_scheduling import SessionAttended
from services.contracts.upcasting import Upcasters, versioned
from services.eventing.dead_letter_reasons import reason_code
from tests.support.upcasting_example import V1, V2, SessionAttendedV2, session_attended_v2

ATTENDED_AT = datetime(2026, 11, 30, 18, tzinfo=UTC)


def attended_v1(**changes):
    """A v1 CloudEvent as it is on the topic, its data changed as given."""
    ce = wrap(SessionAttended(participant_id="p-1", session_id="s-1", plan_id="plan-1",
                              modality=Modality.GROUP_CBT_SKILLS, minutes_attended=50, attended_at=ATTENDED_AT),
              EventContext.new("t", "adult-mh"))
    return ce.model_copy(update={"data": {**ce.data, **changes}})


def test_a_v1_payload_is_read_as_v2():
    v1 = attended_v1()
    with session_attended_v2():
        event = parse_data(v1)
    assert event == SessionAttendedV2(participant_id="p-1", session_id="s-1", plan_id="plan-1",
                                      modality=Modality.GROUP_CBT_SKILLS, seconds_attended=3000,
                                      attended_at=ATTENDED_AT)
    assert v1.data["minutes_attended"] == 50 and "seconds_attended" not in v1.data, "the message is left as it is"


def test_without_an_upcaster_v1_is_read_as_v1():
    assert isinstance(parse_data(attended_v1()), SessionAttended)


def test_a_v2_payload_is_read_as_it_is():
    with session_attended_v2():
        v2 = attended_v1().model_copy(update={"type": V2})
        v2 = v2.model_copy(update={"data": {**{k: v for k, v in v2.data.items() if k != "minutes_attended"},
                                            "seconds_attended": 60}})
        assert parse_data(v2).seconds_attended == 60


def test_an_unknown_version_is_invalid_with_the_versions_this_code_reads():
    v3 = attended_v1().model_copy(update={"type": "continuum.scheduling.session_attended.v3"})
    with pytest.raises(InvalidEvent) as without_v2:
        parse_data(v3)
    assert without_v2.value.reason == ("unknown event type: continuum.scheduling.session_attended.v3 "
                                       "(this code reads v1)")
    with session_attended_v2(), pytest.raises(InvalidEvent) as with_v2:
        parse_data(v3)
    assert with_v2.value.reason.endswith("(this code reads v1, v2)")
    assert reason_code(with_v2.value.reason) == "unknown_type"
    mystery = attended_v1().model_copy(update={"type": "continuum.scheduling.mystery.v1"})
    with pytest.raises(InvalidEvent, match=r"^unknown event type: continuum.scheduling.mystery.v1$"):
        parse_data(mystery)


def test_a_payload_the_upcaster_cannot_read_is_invalid():
    no_minutes = attended_v1()
    no_minutes = no_minutes.model_copy(update={"data": {k: v for k, v in no_minutes.data.items()
                                                        if k != "minutes_attended"}})
    with session_attended_v2(), pytest.raises(InvalidEvent) as failed:
        parse_data(no_minutes)
    assert failed.value.reason.startswith(f"invalid {V1}: its upcaster failed: KeyError")
    assert reason_code(failed.value.reason) == "invalid_data"
    with session_attended_v2(), pytest.raises(InvalidEvent) as out_of_range:
        parse_data(attended_v1(minutes_attended=601))
    assert out_of_range.value.reason.startswith(f"invalid {V1} (upcast to {V2}): seconds_attended")


def test_upcasters_chain_and_go_only_to_a_later_version():
    registry = Upcasters()
    registry.register("continuum.a.b.v1", "continuum.a.b.v2")(lambda d: {**d, "two": True})
    registry.register("continuum.a.b.v2", "continuum.a.b.v3")(lambda d: {**d, "three": True})
    assert registry.upcast("continuum.a.b.v1", {"one": True}) == (
        "continuum.a.b.v3", {"one": True, "two": True, "three": True})
    assert registry.upcast("continuum.a.b.v3", {}) == ("continuum.a.b.v3", {})
    for old, new in [("continuum.a.b.v2", "continuum.a.b.v1"), ("continuum.a.b.v1", "continuum.a.c.v2"),
                     ("continuum.a.b.v1", "continuum.a.b.v1"), ("a.b", "continuum.a.b.v2")]:
        with pytest.raises(ValueError, match="later one"):
            registry.register(old, new)
    with pytest.raises(ValueError, match="twice"):
        registry.register("continuum.a.b.v1", "continuum.a.b.v9")
    assert versioned("continuum.scheduling.session_attended.v12") == ("continuum.scheduling.session_attended", 12)
