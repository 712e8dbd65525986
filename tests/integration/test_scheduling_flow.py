"""Scheduling against the real broker and a real SQLite database: plans arrive as Kafka
records on the planning (and aftercare) topics and go through scheduling's idempotent
consumer; commands go through its HTTP routes; what it announces is relayed by its outbox
relay and read back from its topic by a plain Kafka consumer."""

import asyncio
import time as time_module
import uuid
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise

import httpx
import pytest
from fastapi import FastAPI
from icalendar import Calendar
from kafka import KafkaProducer
from sqlalchemy import select

from deploy.api_client import CARE_TEAM
from services.contracts.codes import Discipline, LevelOfCare, Modality, Weekday
from services.contracts.envelope import EventContext, to_record, wrap
from services.contracts.events_aftercare import ParticipantDischarged
from services.contracts.events_intake import AvailabilityWindow
from services.contracts.events_planning import PlanCreated, PlannedIntervention, PlanRevised
from services.contracts.topics import events_topic
from services.eventing.consumer import IncomingMessage, Outcome
from services.eventing.database import Database
from services.eventing.kafka_clients import idempotent_producer
from services.eventing.relay import OutboxRelay
from services.eventing.settings import ContinuumSettings, KafkaSettings, ServiceSettings
from services.eventing.topic_admin import create_topics
from services.host.runtime import ServiceRuntime
from services.scheduling.api import router
from services.scheduling.calendar_config import load_calendar
from services.scheduling.handlers import HANDLERS, prepare_store
from services.scheduling.tables import SchedulingBase, Session
from services.security.headers import bearer
from services.security.oidc import IssuerKeys
from services.security.tokens import TokenVerifier
from services.security.wiring import AUDIT_METADATA, secure
from services.web.refusals import answer_refusals
from tests.support.kafka_reader import TopicReader
from tests.unit.oidc_tokens import AUDIENCE, ISSUER, Issuer

pytestmark = pytest.mark.integration

NY = load_calendar().timezone
SUBJECT = "it-care-team"  # the token's subject: who acts, whatever a body says (no body names an actor)


def next_monday() -> date:
    today = datetime.now(NY).date()
    return today + timedelta(days=7 - today.weekday())


EVENINGS = tuple(AvailabilityWindow(day=d, start=time(17, 30), end=time(21, 30))
                 for d in (Weekday.MON, Weekday.TUE, Weekday.WED, Weekday.THU, Weekday.FRI))
IOP = (
    PlannedIntervention(intervention_id="i-process", modality=Modality.GROUP_PROCESS, sessions_per_week=2,
                        minutes=180, discipline=Discipline.CLINICIAN, group=True),
    PlannedIntervention(intervention_id="i-mindful", modality=Modality.MINDFULNESS, sessions_per_week=1,
                        minutes=60, discipline=Discipline.CLINICIAN, group=True),
    PlannedIntervention(intervention_id="i-psyed", modality=Modality.PSYCHOEDUCATION, sessions_per_week=1,
                        minutes=90, discipline=Discipline.CLINICIAN, group=True),
    PlannedIntervention(intervention_id="i-individual", modality=Modality.INDIVIDUAL_COUNSELLING,
                        sessions_per_week=1, minutes=60, discipline=Discipline.CLINICIAN, group=False),
)


def plan_body(pid: str, version: int = 1, availability=EVENINGS, plan_id: str | None = None) -> dict:
    return dict(participant_id=pid, plan_id=plan_id or f"plan-{pid}", plan_version=version, episode_id=f"ep-{pid}",
                assessment_id=f"asm-{pid}", level_of_care=LevelOfCare.INTENSIVE_OUTPATIENT, weekly_hours_target=9.5,
                weekly_hours_minimum=9, start_date=next_monday(), expected_weeks=6, review_dates=(),
                interventions=IOP, availability=availability)


def created(pid, **kw) -> PlanCreated:
    return PlanCreated(**plan_body(pid, **kw), created_at=datetime.now(UTC))


def revised(pid, version, **kw) -> PlanRevised:
    return PlanRevised(**plan_body(pid, version, **kw), revised_at=datetime.now(UTC), reason_code="review")


def open_reader(bootstrap: str, *topics: str) -> TopicReader:
    """A reader once the new topics' metadata has reached the client."""
    for _ in range(50):
        try:
            return TopicReader(bootstrap, *topics)
        except ValueError:  # no partitions known yet
            time_module.sleep(0.2)
    raise AssertionError(f"topics never appeared: {topics}")


class Harness:
    def __init__(self, bootstrap: str, prefix: str, db: Database):
        self.bootstrap, self.prefix, self.db = bootstrap, prefix, db
        self.rt = ServiceRuntime("scheduling", db, ContinuumSettings(topic_prefix=prefix),
                                 KafkaSettings(bootstrap_servers=bootstrap), ServiceSettings(), HANDLERS)
        app = FastAPI()
        app.state.runtime = self.rt
        app.include_router(router)
        answer_refusals(app)
        idp = Issuer()  # a pretend identity provider: its keys handed to the verifier, no network
        secure(app, TokenVerifier(IssuerKeys.from_jwks(idp.jwks()), issuer=ISSUER, audience=AUDIENCE), db)
        token = idp.token(sub=SUBJECT, realm_access={"roles": list(CARE_TEAM)}, tenant="tenant-it",
                          programs=["adult-mh"])
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://scheduling",
                                      headers=bearer(token))
        self.out = open_reader(bootstrap, events_topic("scheduling", prefix))
        self.producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
        self._relay: OutboxRelay | None = None
        self._producer = None

    async def deliver(self, *events) -> list[Outcome]:
        """Produce to the real topics, read the records back, hand them to the consumer together."""
        ctx = EventContext.new("tenant-it", "adult-mh")
        ids = []
        for ev in events:
            rec = to_record(wrap(ev, ctx))
            self.producer.send(events_topic(ev.producer, self.prefix), key=rec.key, value=rec.value,
                               headers=list(rec.headers))
            ids.append(dict(rec.headers)["ce_id"])
        self.producer.flush()
        reader = open_reader(self.bootstrap, *{events_topic(ev.producer, self.prefix) for ev in events})
        try:
            records = reader.wait_for(lambda rs: {r.headers["ce_id"] for r in rs} >= set(ids), 20, "the records")
        finally:
            reader.close()
        mine = [r for r in records if r.headers["ce_id"] in ids]
        outcomes = await asyncio.gather(*(self.rt.consumer.handle(IncomingMessage(
            r.topic, r.partition, r.offset, r.key, r.value, tuple(r.headers.items()))) for r in mine))
        await self.relay()
        return list(outcomes)

    async def relay(self) -> None:
        """The service's one relay (it holds the outbox lease), publishing what is pending."""
        if self._relay is None:
            self._producer = idempotent_producer(KafkaSettings(bootstrap_servers=self.bootstrap),
                                                 f"it-relay-{uuid.uuid4().hex[:6]}")
            await self._producer.start()
            self._relay = OutboxRelay(self.db, self._producer)
        while await self._relay.publish_pending():
            pass

    def events(self, pid: str, suffix: str, at_least: int = 1) -> list[dict]:
        self.out.wait_for(lambda rs: len(self.out.events(pid, suffix)) >= at_least, 20, suffix)
        return [e["data"] for e in self.out.events(pid, suffix)]

    async def sessions(self, pid: str) -> list[Session]:
        async with self.db.sessions() as s:
            return list((await s.scalars(select(Session).where(Session.participant_id == pid)
                                         .order_by(Session.starts_at))).all())

    async def close(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
        await self.http.aclose()
        self.out.close()
        self.producer.close()


@pytest.fixture
async def sched(kafka_stack, sqlite_database):
    prefix = f"{kafka_stack.config.topic_prefix}sc{uuid.uuid4().hex[:6]}."
    create_topics(KafkaSettings(bootstrap_servers=kafka_stack.bootstrap), ContinuumSettings(topic_prefix=prefix))
    db = await sqlite_database("scheduling", SchedulingBase.metadata, AUDIT_METADATA)
    async with db.transaction() as s:
        await prepare_store(s)
    h = Harness(kafka_stack.bootstrap, prefix, db)
    yield h
    await h.close()


def pid_() -> str:
    return f"p-{uuid.uuid4().hex[:10]}"


def no_overlap(rows: list[Session]) -> bool:
    spans = sorted((s.starts_at, s.ends_at) for s in rows if s.status != "cancelled")
    return all(a[1] <= b[0] for a, b in pairwise(spans))


def in_windows(s: Session, windows) -> bool:
    start, end = s.starts_at.astimezone(NY), s.ends_at.astimezone(NY)
    return any(w.day == tuple(Weekday)[start.weekday()] and w.start <= start.time() and end.time() <= w.end
               for w in windows)


async def test_plan_created_places_two_weeks_and_announces_them_once(sched):
    pid = pid_()
    assert await sched.deliver(created(pid)) == [Outcome.HANDLED]
    (placed,) = sched.events(pid, "sessions_scheduled.v1")  # one announcement per placement
    assert placed["week_start"] == next_monday().isoformat()
    assert placed["weeks"] == [{"week_start": (next_monday() + timedelta(days=7 * k)).isoformat(),
                                "hours_scheduled": 9.5, "hours_required": 9} for k in range(2)]
    assert len(placed["sessions"]) == 10 and placed["unmet"] == [] and placed["weekly_hours_scheduled"] == 9.5
    assert placed["weekly_hours_required"] == 9 and placed["reason_code"] == "plan_created"
    rows = await sched.sessions(pid)
    assert {s.id for s in rows} == {x["session_id"] for x in placed["sessions"]}
    by_id = {s.id: s for s in rows}
    assert all(x["week_start"] == by_id[x["session_id"]].week_start.isoformat() for x in placed["sessions"])
    assert no_overlap(rows) and all(in_windows(s, EVENINGS) for s in rows)
    body = (await sched.http.get(f"/participants/{pid}/sessions")).json()
    assert body["hours_scheduled"] == 19 and {s["status"] for s in body["sessions"]} == {"scheduled"}
    hours = (await sched.http.get(f"/participants/{pid}/hours")).json()["weeks"]
    assert [(h["hours_scheduled"], h["hours_required"], h["below_minimum"]) for h in hours] == [(9.5, 9, False)] * 2


async def test_plan_revised_reschedules_and_an_older_revision_changes_nothing(sched):
    pid = pid_()
    await sched.deliver(created(pid))
    weekend = (AvailabilityWindow(day=Weekday.SAT, start=time(9), end=time(17)),
               AvailabilityWindow(day=Weekday.SUN, start=time(9), end=time(17)),
               AvailabilityWindow(day=Weekday.TUE, start=time(9), end=time(15)))
    assert await sched.deliver(revised(pid, 2, availability=weekend)) == [Outcome.HANDLED]
    moved = sched.events(pid, "session_rescheduled.v1")
    assert moved and all(m["reason_code"] == "plan_revised" and m["plan_version"] == 2 for m in moved)
    rows = [s for s in await sched.sessions(pid) if s.status == "scheduled"]
    assert rows and all(in_windows(s, weekend) for s in rows) and no_overlap(rows)
    assert {s.plan_version for s in rows} == {2}
    assert {s.id for s in rows} >= {m["session_id"] for m in moved}, "a moved session keeps its id"
    before = [(s.id, s.starts_at, s.status) for s in await sched.sessions(pid)]
    seen = len(sched.out.records)
    assert await sched.deliver(revised(pid, 1)) == [Outcome.HANDLED]
    assert [(s.id, s.starts_at, s.status) for s in await sched.sessions(pid)] == before
    await asyncio.sleep(1)
    sched.out.poll()
    assert [r for r in sched.out.records[seen:] if r.key == pid.encode()] == []


async def test_attendance_missed_session_and_hours_below_minimum(sched):
    pid = pid_()
    await sched.deliver(created(pid))
    rows = await sched.sessions(pid)
    first_week = [s for s in rows if s.week_start == next_monday()]
    group, other = next(s for s in first_week if s.modality == "group_process"), next(
        s for s in first_week if s.modality == "mindfulness")
    r = await sched.http.post(f"/sessions/{other.id}/check-in")
    assert r.status_code == 200 and r.json()["status"] == "checked_in", r.text
    r = await sched.http.post(f"/sessions/{other.id}/attendance", json={"status": "attended", "minutes_attended": 50})
    assert r.status_code == 200 and r.json()["minutes_attended"] == 50
    r = await sched.http.post(f"/sessions/{group.id}/attendance", json={"status": "missed", "reason": "no_show"})
    assert r.status_code == 200
    await sched.relay()
    attended = sched.events(pid, "session_attended.v1")
    clinician = {"id": SUBJECT, "role": "clinician"}  # the first of the token's roles granting attendance.write
    assert attended == [{**attended[0], "session_id": other.id, "minutes_attended": 50, "actor": clinician}]
    assert sched.events(pid, "session_missed.v1")[0]["reason"] == "no_show"
    assert sched.events(pid, "session_missed.v1")[0]["actor"] == clinician
    rows = {s.id: s for s in await sched.sessions(pid)}
    assert (rows[other.id].checked_in_by, rows[other.id].recorded_by, rows[other.id].recorded_by_role) == (
        SUBJECT, SUBJECT, "clinician")
    r = await sched.http.post(f"/sessions/{group.id}/attendance",
                              json={"status": "missed", "reason": "no_show", "recorded_by": "someone-else"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "recorded_by"]
    (below,) = sched.events(pid, "hours_below_minimum.v1")
    assert below["week_start"] == next_monday().isoformat() and below["hours_required"] == 9
    assert below["hours_still_possible"] == pytest.approx(9.5 - 3 - 10 / 60, abs=0.01)
    assert (await sched.http.post("/sessions/ses-nope/attendance", json={"status": "attended"})).status_code == 404
    r = await sched.http.post(f"/sessions/{group.id}/attendance", json={"status": "attended"})
    assert r.status_code == 409
    to_cancel = next(s for s in first_week if s.modality == "psychoeducation")
    once = {"Idempotency-Key": f"cancel-{to_cancel.id}"}
    r = await sched.http.post(f"/sessions/{to_cancel.id}/cancellation", json={"reason_code": "participant_ill"},
                              headers=once)
    assert r.status_code == 200
    again = await sched.http.post(f"/sessions/{to_cancel.id}/cancellation", json={"reason_code": "participant_ill"},
                                  headers=once)
    assert (again.status_code, again.json()) == (200, r.json()), "a retry with the same key: the same answer"
    other = await sched.http.post(f"/sessions/{to_cancel.id}/cancellation", json={"reason_code": "room_flooded"},
                                  headers=once)
    assert other.status_code == 422 and other.json()["header"] == "Idempotency-Key"
    r = await sched.http.post(f"/sessions/{to_cancel.id}/attendance", json={"status": "attended"})
    assert r.status_code == 409 and "cancelled" in r.json()["detail"]
    await sched.relay()
    assert sched.events(pid, "session_cancelled.v1")[0]["reason_code"] == "participant_ill"
    assert sched.events(pid, "session_cancelled.v1")[0]["actor"] == clinician
    assert len(sched.out.events(pid, "hours_below_minimum.v1")) == 1, "announced once per week"


async def test_discharge_cancels_future_sessions(sched):
    pid = pid_()
    await sched.deliver(created(pid))
    rows = await sched.sessions(pid)
    await sched.http.post(f"/sessions/{rows[0].id}/attendance", json={"status": "attended"})
    await sched.deliver(ParticipantDischarged(participant_id=pid, episode_id=f"ep-{pid}",
                                              discharged_on=datetime.now(UTC).date(),
                                              from_level_of_care=LevelOfCare.INTENSIVE_OUTPATIENT,
                                              to_level_of_care=LevelOfCare.OUTPATIENT, reason_code="step_down"))
    cancelled = sched.events(pid, "session_cancelled.v1", len(rows) - 1)
    assert {c["session_id"] for c in cancelled} == {s.id for s in rows[1:]}
    assert {c["reason_code"] for c in cancelled} == {"participant_discharged"}
    after = {s.id: s.status for s in await sched.sessions(pid)}
    assert after[rows[0].id] == "attended" and sum(v == "cancelled" for v in after.values()) == len(rows) - 1
    assert await sched.deliver(revised(pid, 2)) == [Outcome.HANDLED]
    assert all(s.status != "scheduled" for s in await sched.sessions(pid)), "no revision after discharge"


def vevents(feed: bytes) -> dict[str, object]:
    return {str(e["uid"]).split("@")[0]: e for e in Calendar.from_ical(feed).walk("VEVENT")}


async def test_the_ics_feeds_parse_and_follow_the_schedule(sched):
    pid = pid_()
    await sched.deliver(created(pid))
    rows = await sched.sessions(pid)
    r = await sched.http.get(f"/participants/{pid}/calendar.ics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/calendar")
    events = vevents(r.content)
    assert set(events) == {s.id for s in rows}
    for s in rows:
        e = events[s.id]
        assert e.decoded("dtstart") == s.starts_at and e.decoded("dtend") == s.ends_at
        assert str(e["summary"]) == s.modality.replace("_", " ") and str(e["location"]) == s.place
    individual = next(s for s in rows if s.group_id is None)
    clinician_feed = vevents((await sched.http.get(f"/clinicians/{individual.clinician_id}/calendar.ics")).content)
    assert individual.id in clinician_feed
    # the clinician is away that evening: the session moves, the feed follows with a new SEQUENCE
    r = await sched.http.post(f"/clinicians/{individual.clinician_id}/absences", json={
        "starts_at": individual.starts_at.isoformat(), "ends_at": individual.ends_at.isoformat(),
        "reason_code": "sick_leave"})
    assert r.status_code == 201 and pid in r.json()["participants"]
    moved = {s.id: s for s in await sched.sessions(pid)}[individual.id]
    assert moved.status == "cancelled" or moved.starts_at != individual.starts_at
    e = vevents((await sched.http.get(f"/participants/{pid}/calendar.ics")).content)[individual.id]
    assert int(e["sequence"]) == 1
    if moved.status == "cancelled":
        assert str(e["status"]) == "CANCELLED"
    else:
        assert e.decoded("dtstart") == moved.starts_at
    await sched.relay()
    sched.out.wait_for(lambda rs: sched.out.events(pid, "session_rescheduled.v1")
                       or sched.out.events(pid, "session_cancelled.v1"), 20, "the change announced")


async def test_availability_change_refused_or_replaced(sched):
    pid = pid_()
    await sched.deliver(created(pid))
    r = await sched.http.put(f"/participants/{pid}/availability", json={"windows": [
        {"day": "mon", "start": "17:00", "end": "21:00"}, {"day": "mon", "start": "20:00", "end": "22:00"}]})
    assert r.status_code == 422 and "overlaps" in r.json()["detail"]
    r = await sched.http.put(f"/participants/{pid}/availability", json={"windows": [
        {"day": "tue", "start": "21:00", "end": "18:00"}]})
    assert r.status_code == 422 and "ends before it starts" in r.json()["detail"]
    assert (await sched.http.put("/participants/p-unknown/availability", json={"windows": [
        {"day": "tue", "start": "18:00", "end": "21:00"}]})).status_code == 404
    weekends = [{"day": "sat", "start": "09:00", "end": "18:00"}, {"day": "sun", "start": "09:00", "end": "18:00"}]
    r = await sched.http.put(f"/participants/{pid}/availability", json={"windows": weekends})
    assert r.status_code == 200 and r.json()["moved"] + r.json()["cancelled"] > 0
    windows = [AvailabilityWindow(**w) for w in weekends]
    open_ = [s for s in await sched.sessions(pid) if s.status == "scheduled"]
    assert open_ and all(in_windows(s, windows) for s in open_) and no_overlap(open_)
    await sched.relay()

    def moved(_=None) -> list[dict]:
        return sched.out.events(pid, "session_rescheduled.v1") + sched.out.events(pid, "session_cancelled.v1")
    sched.out.wait_for(moved, 20, "the re-placement's events")
    assert all(e["data"]["actor"] == {"id": SUBJECT, "role": "case_manager"} for e in moved())


async def test_a_cancelled_group_moves_its_participants(sched):
    pid = pid_()
    await sched.deliver(created(pid))
    process = next(s for s in await sched.sessions(pid) if s.modality == "group_process")
    on = process.starts_at.astimezone(NY).date()
    r = await sched.http.post(f"/groups/{process.group_id}/cancellations",
                              json={"on": on.isoformat(), "reason_code": "room_unavailable"})
    assert r.status_code == 201 and pid in r.json()["participants"]
    after = {s.id: s for s in await sched.sessions(pid)}[process.id]
    assert after.status == "cancelled" or (after.group_id, after.starts_at) != (process.group_id, process.starts_at)
    assert (await sched.http.post("/groups/g-nope/cancellations", json={"on": on.isoformat(),
                                                                       "reason_code": "x"})).status_code == 404


async def test_two_events_for_one_participant_together_book_nothing_twice(sched):
    pid = pid_()
    outcomes = await sched.deliver(created(pid), revised(pid, 2))
    assert set(outcomes) == {Outcome.HANDLED}
    open_ = [s for s in await sched.sessions(pid) if s.status == "scheduled"]
    assert len(open_) == 10 and no_overlap(open_)
    # and many participants at once never overfill a group
    pids = [pid_() for _ in range(14)]
    monday_only = (AvailabilityWindow(day=Weekday.MON, start=time(17, 30), end=time(21, 30)),)
    await sched.deliver(*(created(p, availability=monday_only) for p in pids))
    seats: dict[tuple, int] = {}
    for p in [pid, *pids]:
        for s in await sched.sessions(p):
            if s.group_id and s.status == "scheduled":
                seats[(s.group_id, s.starts_at)] = seats.get((s.group_id, s.starts_at), 0) + 1
    cal = load_calendar()
    assert seats and all(n <= cal.group(g).capacity for (g, _), n in seats.items())
    assert max(seats.values()) == 12, "the Monday process group fills up to its capacity"
    failed = [p for p in pids if sched.out.events(p, "scheduling_failed.v1")] or [
        p for p in pids if sched.events(p, "scheduling_failed.v1")]
    assert failed


async def test_the_calendar_is_editable_through_the_api_and_used_for_placement(sched):
    r = await sched.http.get("/calendar")
    assert r.status_code == 200 and r.json()["version"] == 1 and r.json()["timezone"] == "America/New_York"
    doc = r.json()["document"]
    bad = await sched.http.put("/calendar", json={**doc, "groups": doc["groups"] + doc["groups"][:1]})
    assert bad.status_code == 422 and "appears twice" in bad.json()["detail"]
    without_mindfulness = {**doc, "groups": [g for g in doc["groups"] if g["modality"] != "mindfulness"]}
    r = await sched.http.put("/calendar", json=without_mindfulness)
    assert r.status_code == 200 and r.json()["version"] == 2
    pid = pid_()
    await sched.deliver(created(pid))
    (placed,) = sched.events(pid, "sessions_scheduled.v1")
    assert placed["unmet"] == [{"intervention_id": "i-mindful", "sessions_missing": 1,
                                "reason_code": "no_group_for_modality", "week_start": w["week_start"]}
                               for w in placed["weeks"]]
    assert sched.events(pid, "scheduling_failed.v1")[0]["reasons"] == placed["unmet"]
    assert not [s for s in await sched.sessions(pid) if s.modality == "mindfulness"]


async def test_outside_development_check_in_opens_shortly_before_the_session(sched):
    from services.scheduling.handlers import AttendanceConflict, AttendanceRecord, check_in, record_attendance

    pid = pid_()
    await sched.deliver(created(pid))
    first = (await sched.sessions(pid))[0]
    async with sched.rt.unit_of_work() as uow:
        with pytest.raises(AttendanceConflict, match="too early"):
            await check_in(uow.session, uow.outbox, first.id, any_time=False)
        with pytest.raises(AttendanceConflict, match="too early"):
            await record_attendance(uow.session, uow.outbox, first.id, AttendanceRecord(True), any_time=False)
    async with sched.rt.unit_of_work() as uow:
        s = await check_in(uow.session, uow.outbox, first.id, any_time=False,
                           now=first.starts_at - timedelta(minutes=30))
        assert s.status == "checked_in"
