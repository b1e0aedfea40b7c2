"""Request-body size limit: 413 before an oversized body is read (pure ASGI).

    client ──> ObservabilityMiddleware ──> BodyLimitMiddleware ──> app
                 (counts the 413)           Content-Length > max: answer 413 at once,
                                            the app and its body parser never run;
                                            no Content-Length (chunked): count the bytes
                                            as the app receives them and raise
                                            HTTPException(413) once the total passes max

Why not FastAPI's own `max_body_size` (Starlette's RequestBodyLimitMiddleware): when the
route has started its error answer, it stops the response with an internal exception
that every exception-catching middleware outside it sees, so the observability
middleware logged each 413 as an ERROR with a traceback and a Sentry event, and the
client got a text/plain body. Here nothing is raised past the app's exception handlers.
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException

DETAIL = "request body too large"
_BODY = b'{"detail":"' + DETAIL.encode() + b'"}'


def _content_length(scope: dict[str, Any]) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the HTTP server rejects a malformed Content-Length itself
    return None


class BodyLimitMiddleware:
    def __init__(self, app: Any, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = _content_length(scope)
        if length is not None and length > self.max_bytes:
            await send(
                {
                    "type": "http.response.start",
                    "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(_BODY))],
                }
            )
            await send({"type": "http.response.body", "body": _BODY})
            return

        received = 0

        async def limited_receive() -> dict[str, Any]:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # reaches the app's HTTPException handler, like any 4xx the app raises
                    raise HTTPException(status_code=413, detail=DETAIL)
            return message

        await self.app(scope, limited_receive, send)
