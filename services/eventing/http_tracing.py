"""HTTP edge of the trace: every request runs in a span continuing the caller's W3C
``traceparent`` header (or starting a trace), answers with its own ``traceparent`` and,
for commands (non-GET), writes one log line with method, route, status and duration.
Events the command writes carry the span (see outbox.py), so the trace goes on."""

import time

from .logging import get_logger
from .tracing import span_continuing

log = get_logger("http")

_QUIET = {"GET", "HEAD", "OPTIONS"}


class TraceRequests:
    """A pure ASGI middleware (keeps contextvars in the request's own task)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or ())
        method, started, status = scope["method"], time.perf_counter(), 500
        with span_continuing(headers.get(b"traceparent"), http_method=method) as span:

            async def send_with_trace(message):
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                    message = {**message, "headers": [*message.get("headers", []),
                                                      (b"traceparent", span.traceparent.encode())]}
                await send(message)

            try:
                await self.app(scope, receive, send_with_trace)
            finally:
                if method not in _QUIET:
                    route = scope.get("route")
                    log.info("http.command", path=getattr(route, "path", scope["path"]), status=status,
                             duration_ms=round((time.perf_counter() - started) * 1000, 1))
