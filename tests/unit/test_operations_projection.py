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


def test_a_placement_over_two_weeks_files_each_week_and_each_session_under_its_own_week():
    from datetime import UTC, date, datetime, timedelta

    from services.contracts import events_scheduling as sc
    from services.operations.domain.projection import Meta

    week1, week2 = date(2026, 11, 30), date(2026, 12, 7)
    t = datetime(2026, 12, 1, 23, 0, tzinfo=UTC)

    def session(n: int, week: date) -> sc.ScheduledSession:
        start = t + timedelta(days=7 * (week == week2) + n)
        return sc.ScheduledSession(session_id=f"s{n}-{week.day}", intervention_id="i1", modality="group_process",
                                   starts_at=start, ends_at=start + timedelta(hours=3), clinician_id="c-ana",
                                   mode="in_person", week_start=week)

    event = sc.SessionsScheduled(
        participant_id="p-1", plan_id="plan-1", plan_version=1, week_start=week1,
        sessions=(session(0, week1), session(1, week2)), weekly_hours_scheduled=3, weekly_hours_required=9,
        weeks=(sc.WeekHours(week_start=week1, hours_scheduled=3, hours_required=9),
               sc.WeekHours(week_start=week2, hours_scheduled=6, hours_required=9)))
    ups = project(event, Meta("continuum.scheduling.sessions_scheduled.v1", "t", "adult-mh", t))
    weeks = {dict(u.key)["week_start"]: u.put["hours_scheduled"] for u in ups if u.table == "weeks"}
    assert weeks == {"2026-11-30": 3, "2026-12-07": 6}
    filed = {dict(u.key)["session_id"]: u.put["week_start"] for u in ups if u.table == "sessions"}
    assert filed == {"s0-30": "2026-11-30", "s1-7": "2026-12-07"}
