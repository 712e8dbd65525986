"""The request size limit: a body over it is refused with 413 naming the limit, whether its
size is declared (Content-Length) or it streams in chunks, and is never read whole."""

import httpx
from fastapi import FastAPI, Request

from services.eventing.settings import ContinuumSettings
from services.web.request_size import LimitRequestSize

LIMIT = 2048


def echo_app() -> tuple[FastAPI, list[int]]:
    reached: list[int] = []
    app = FastAPI()
    app.add_middleware(LimitRequestSize, max_bytes=LIMIT)

    @app.post("/echo")
    async def echo(body: dict) -> dict:
        reached.append(1)
        return {"keys": sorted(body)}

    @app.post("/raw")
    async def raw(request: Request) -> dict:
        size = len(await request.body())  # a route that reads the body itself: refused there
        reached.append(1)
        return {"bytes": size}

    return app, reached


async def call(app: FastAPI, **kwargs) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        return await client.post(**kwargs)


async def test_a_body_within_the_limit_is_served():
    app, reached = echo_app()
    r = await call(app, url="/echo", json={"a": "x" * 100, "b": 1})
    assert r.status_code == 200 and r.json() == {"keys": ["a", "b"]} and reached == [1]


async def test_a_declared_size_over_the_limit_is_refused_before_the_route_runs():
    app, reached = echo_app()
    r = await call(app, url="/echo", json={"a": "x" * LIMIT})
    assert r.status_code == 413
    assert r.json() == {"detail": f"request body too large: the limit is {LIMIT} bytes"}
    assert reached == []


async def test_a_streamed_body_is_counted_and_refused_without_being_read_whole():
    app, reached = echo_app()
    pulled = []

    async def chunks():  # no Content-Length: sent chunked, 100 x 512 bytes
        for i in range(100):
            pulled.append(i)
            yield b"x" * 512

    for url in ("/echo", "/raw"):
        pulled.clear()
        r = await call(app, url=url, content=chunks(), headers={"Content-Type": "application/json"})
        assert r.status_code == 413 and str(LIMIT) in r.json()["detail"], url
        assert len(pulled) <= LIMIT // 512 + 2, f"{url}: read {len(pulled)} chunks"
    assert reached == []


def test_the_limit_is_a_setting(monkeypatch):
    assert ContinuumSettings().max_request_bytes == 64 * 1024
    monkeypatch.setenv("CONTINUUM_MAX_REQUEST_BYTES", "4096")
    assert ContinuumSettings().max_request_bytes == 4096
