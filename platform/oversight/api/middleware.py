"""Request ids, one structured log line per request, a cap on body size, and no NUL in the URL."""

from __future__ import annotations

import time
import uuid

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from oversight.api.problems import MEDIA_TYPE
from oversight.errors import PROBLEM_BASE
from oversight.logs import get_logger

log = get_logger("api")


class RequestContext:
    """Bind a request id, log ``api.request`` (never a token or a payload), cap bodies."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        request_id = headers.get(b"x-request-id", b"").decode()[:64] or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body_bytes:
            await _too_large(send, self.max_body_bytes)
            return
        query = scope.get("query_string", b"")
        if b"%00" in query or b"\x00" in query or "\x00" in scope.get("path", ""):
            # No database stores a NUL in text (PostgreSQL refuses it): say so, never a 500.
            await _problem(send, 400, "bad-request", "Bad request",
                           "the URL contains a NUL character (%00), which no parameter may hold")
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise BodyTooLarge
            return message

        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await self.app(scope, limited_receive, send_with_id)
            except BodyTooLarge:
                await _too_large(send, self.max_body_bytes)
                status = 413
            finally:
                state = scope.get("state", {})
                log.info("api.request", method=scope["method"], route=scope.get("path"),
                         status=status, identity=state.get("identity"),
                         duration_ms=round((time.perf_counter() - started) * 1000, 2))


class BodyTooLarge(Exception):
    """The body went past the configured limit while streaming."""


async def _too_large(send: Send, limit: int) -> None:
    await _problem(send, 413, "body-too-large", "Request body too large",
                   f"the body exceeds {limit} bytes")


async def _problem(send: Send, status: int, kind: str, title: str, detail: str) -> None:
    import json

    body = json.dumps({"type": PROBLEM_BASE + kind, "title": title, "status": status,
                       "detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", MEDIA_TYPE.encode()),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
