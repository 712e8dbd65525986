"""Refuses request bodies over a size limit with 413, without reading them into memory.

A declared ``Content-Length`` over the limit is refused before the application runs; a body
sent without one (chunked) is counted as the application reads it and refused once the count
passes the limit. A pure ASGI middleware: add it last (outermost), so a body too large is
refused before anything else (authentication included) looks at the request."""

from fastapi import HTTPException
from fastapi.responses import JSONResponse


class RequestTooLarge(HTTPException):
    """Raised from ``receive`` when a streamed body passes the limit: FastAPI re-raises an
    HTTPException met while reading the body, so the client gets the 413, not a 400."""

    def __init__(self, limit: int):
        super().__init__(413, too_large_detail(limit))


def too_large_detail(limit: int) -> str:
    return f"request body too large: the limit is {limit} bytes"


class LimitRequestSize:
    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or ()).get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                return await JSONResponse({"detail": "invalid Content-Length header"}, 400)(scope, receive, send)
            if int(declared) > self.max_bytes:
                return await self._refuse(scope, receive, send)
        received = 0
        started = False

        async def counted_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise RequestTooLarge(self.max_bytes)
            return message

        async def watched_send(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, watched_send)
        except RequestTooLarge:
            if started:  # the app answered before reading the whole body: nothing left to say
                raise
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope, receive, send):
        response = JSONResponse({"detail": too_large_detail(self.max_bytes)}, 413, headers={"Connection": "close"})
        await response(scope, receive, send)
