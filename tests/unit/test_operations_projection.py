"""The read model's projections: commutative upserts, so any replay order gives the same rows."""

import random

from services.contracts.catalogue import EVENT_TYPES
from services.eventing.dead_letter_reasons import reason_code
from services.operations.domain.projection import PROJECTIONS, DeadLetter, project, project_dead_letter
from services.operations.domain.upsert import Upsert, merge

from .operations_events import cohort


def rows_of(history) -> dict:
    tables: dict[str, dict] = {}
    for event, meta in history:
        for up in project(event, meta):
            table = tables.setdefault(up.table, {})
            table[up.key] = merge(table.get(up.key), up)
    return tables


def test_merge_rules():
    up = Upsert.of("t", {"id": 1}, put={"a": "x"}, earliest={"first": 5}, latest={"last": 5}, add={"n": 1})
    row = merge(None, up)
    assert row == {"id": 1, "a": "x", "first": 5, "last": 5, "n": 1}
    row = merge(row, Upsert.of("t", {"id": 1}, earliest={"first": 3}, latest={"last": 3}, add={"n": 2}))
    assert row == {"id": 1, "a": "x", "first": 3, "last": 5, "n": 3}
    assert merge(row, Upsert.of("t", {"id": 1}, put={"a": None}))["a"] == "x", "None never erases a fact"


def test_every_event_is_counted_and_the_figures_events_are_projected():
    history = cohort()
    tables = rows_of(history)
    assert sum(r["count"] for r in tables["event_counts"].values()) == len(history)
    assert {"referrals", "episodes", "plans", "weeks", "sessions", "follow_ups", "safety_flags"} <= set(tables)
    ep1 = tables["episodes"][(("episode_id", "ep-1"),)]
    assert ep1["admitted_at"] < ep1["planned_at"] < ep1["ready_for_step_down_at"] < ep1["discharged_at"]
    assert ep1["tenant_id"] == "net-a" and ep1["program_id"] == "adult-mh"
    assert (("episode_id", "ep-3"),) not in tables["episodes"], "referred out: never admitted"


def test_any_order_gives_the_same_rows():
    history = cohort()
    live = rows_of(history)
    for seed in range(5):
        shuffled = history[:]
        random.Random(seed).shuffle(shuffled)
        assert rows_of(shuffled) == live


def test_the_projections_know_only_catalogued_events():
    assert set(PROJECTIONS) <= set(EVENT_TYPES.values())


def test_a_dead_letter_is_keyed_by_its_position_and_counted_by_reason():
    d = DeadLetter("t.continuum.planning.dead-letter", 0, 7, {
        "dlq_reason": "unknown event type: continuum.intake.moon_landed.v1", "dlq_consumer": "planning",
        "dlq_topic": "t.continuum.intake.events"})
    (up,) = project_dead_letter(d, reason_code)
    assert dict(up.key) == {"topic": "t.continuum.planning.dead-letter", "partition": 0, "offset": 7}
    assert up.put["reason_code"] == "unknown_type" and up.put["consumer"] == "planning"
    assert merge(merge(None, up), up) == merge(None, up), "a redelivered dead letter changes nothing"
