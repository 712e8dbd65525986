"""The command layer (services/web/commands.py): scope first, one unit of work, refusals as their
documented answers, and Idempotency-Key (same key and request: the stored answer, nothing done
twice; same key, another request or another caller: 422). Built on a small app with a real
SQLite store; the Access is made directly (the token's verification is services/security's)."""

from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI, Header, Request
from pydantic import BaseModel, ConfigDict
from sqlalchemy import String, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.eventing.database import Database
from services.eventing.outbox import Outbox
from services.eventing.unit_of_work import UnitOfWork
from services.security.dependencies import Access
from services.security.principal import Principal
from services.web.commands import run_command
from services.web.idempotency import IdempotentRequestRow
from services.web.refusals import Conflict, NotFound, NotPermitted, Rejected, answer_refusals


class Base(DeclarativeBase):
    pass


class IdempotentRequest(IdempotentRequestRow, Base):
    __tablename__ = "idempotent_requests"


class Thing(Base):
    __tablename__ = "things"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    owner: Mapped[str] = mapped_column(String(40))


class MakeThing(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    refuse: str | None = None


class Runtime:
    def __init__(self, db: Database):
        self.db = db

    @asynccontextmanager
    async def unit_of_work(self):
        async with self.db.transaction() as session:
            yield UnitOfWork(session, Outbox(session, "test"))


REFUSALS = {"conflict": Conflict("already there", thing="x"), "forbidden": NotPermitted("not yours"),
            "rules": Rejected("breaks a rule", reasons=["too many"])}


def app_with(db: Database) -> FastAPI:
    app = FastAPI()
    app.state.runtime = Runtime(db)
    answer_refusals(app)

    @app.post("/tenants/{tenant}/things", status_code=201)
    async def make(tenant: str, body: MakeThing, request: Request, subject: str = Header("staff-1"),
                   key: str | None = Header(None, alias="Idempotency-Key")):
        access = Access(Principal(subject, ("clinician",), "t1", ("p1",)), "clinician", "thing.make", "treatment")

        async def scope(_session):
            if not access.admits("someone", tenant, "p1"):
                raise NotFound(f"unknown tenant: {tenant}")

        async def act(uow):
            uow.session.add(Thing(id=body.id, owner=access.actor.id))
            await uow.session.flush()
            if body.refuse:
                raise REFUSALS[body.refuse]
            return {"id": body.id, "by": access.actor.model_dump()}

        return await run_command(request, access, act, answers=IdempotentRequest, key=key, body=body, scope=scope)

    return app


@pytest.fixture
async def client(tmp_path):
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'cmd.db'}", Base.metadata)
    await db.create_all()
    transport = httpx.ASGITransport(app=app_with(db))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        c.db = db
        yield c
    await db.dispose()


async def things(db) -> int:
    async with db.sessions() as s:
        return await s.scalar(select(func.count()).select_from(Thing))


async def test_a_command_answers_with_the_routes_status_and_the_actor(client):
    r = await client.post("/tenants/t1/things", json={"id": "a"})
    assert r.status_code == 201 and r.json() == {"id": "a", "by": {"id": "staff-1", "role": "clinician"}}


async def test_out_of_scope_is_404_and_nothing_runs(client):
    r = await client.post("/tenants/t2/things", json={"id": "a"})
    assert r.status_code == 404 and r.json() == {"detail": "unknown tenant: t2"}
    assert await things(client.db) == 0


@pytest.mark.parametrize(("refusal", "status", "extra"), [
    ("conflict", 409, {"thing": "x"}), ("forbidden", 403, {}), ("rules", 422, {"reasons": ["too many"]})])
async def test_refusals_answer_their_status_and_body_and_roll_back(client, refusal, status, extra):
    r = await client.post("/tenants/t1/things", json={"id": "a", "refuse": refusal})
    assert r.status_code == status and r.json() == {"detail": REFUSALS[refusal].message, **extra}
    assert await things(client.db) == 0


async def test_same_key_same_request_is_answered_once(client):
    first = await client.post("/tenants/t1/things", json={"id": "a"}, headers={"Idempotency-Key": "k1"})
    again = await client.post("/tenants/t1/things", json={"id": "a"}, headers={"Idempotency-Key": "k1"})
    assert (first.status_code, again.status_code) == (201, 201) and first.json() == again.json()
    assert await things(client.db) == 1


async def test_same_key_another_request_or_caller_is_422(client):
    await client.post("/tenants/t1/things", json={"id": "a"}, headers={"Idempotency-Key": "k1"})
    other_body = await client.post("/tenants/t1/things", json={"id": "b"}, headers={"Idempotency-Key": "k1"})
    other_caller = await client.post("/tenants/t1/things", json={"id": "a"},
                                     headers={"Idempotency-Key": "k1", "subject": "staff-2"})
    for r in (other_body, other_caller):
        assert r.status_code == 422 and r.json()["header"] == "Idempotency-Key"
    assert await things(client.db) == 1


async def test_a_refused_command_is_not_remembered(client):
    refused = await client.post("/tenants/t1/things", json={"id": "a", "refuse": "conflict"},
                                headers={"Idempotency-Key": "k1"})
    assert refused.status_code == 409
    assert (await client.post("/tenants/t1/things", json={"id": "a", "refuse": "conflict"},
                              headers={"Idempotency-Key": "k1"})).status_code == 409


async def test_a_collision_without_a_key_is_409(client):
    assert (await client.post("/tenants/t1/things", json={"id": "a"})).status_code == 201
    r = await client.post("/tenants/t1/things", json={"id": "a"})
    assert r.status_code == 409 and "concurrently" in r.json()["detail"]


def test_a_subject_that_cannot_name_an_actor_is_refused_not_a_500():
    from services.web.commands import acting

    ok = Access(Principal("0b8e5c0e-7a4e-4d4a-9a57-1f9c3c2b8d11", ("clinician",), "t1", ("p1",)), "clinician",
                "x", "treatment")
    assert acting(ok).id == "0b8e5c0e-7a4e-4d4a-9a57-1f9c3c2b8d11"
    for subject in ("x" * 65, "Dr Who"):
        with pytest.raises(NotPermitted, match="cannot name who acts"):
            acting(Access(Principal(subject, ("clinician",), "t1", ("p1",)), "clinician", "x", "treatment"))
