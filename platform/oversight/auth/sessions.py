"""Browser sessions: a signed cookie holding only a random id; the data in a ``SessionStore``.

The cookie is ``<id>.<HMAC-SHA256(secret, id)>``, ``HttpOnly``, ``SameSite=Lax`` and ``Secure``
unless configured off. Stores are keyed by a SHA-256 of the id, so whoever reads a store
learns no cookie that would work. The middleware puts a ``Session`` (a dict) in
``scope["session"]`` (``request.session``, which authlib's Starlette client also uses), and
after the app answers saves it when it changed, deletes it when emptied, and issues a fresh
id when ``rotate()`` was called (at sign-in, against session fixation).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from typing import Any, Protocol

from starlette.datastructures import MutableHeaders
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class SessionStore(Protocol):
    """Where session data lives, by key (a digest of the session id). Data is JSON-able."""

    async def load(self, key: str) -> dict[str, Any] | None:
        """The data saved under ``key``, or None when absent or expired."""

    async def save(self, key: str, data: dict[str, Any], *, max_age: int) -> None:
        """Save ``data`` under ``key`` for ``max_age`` seconds."""

    async def delete(self, key: str) -> None:
        """Forget ``key`` (no error when absent)."""


class InMemorySessionStore:
    """Sessions in this process's memory: one server process, lost at restart."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic, max_sessions: int = 100_000) -> None:
        self._data: dict[str, tuple[float, str]] = {}
        self._clock = clock
        self._max = max_sessions

    async def load(self, key: str) -> dict[str, Any] | None:
        entry = self._data.get(key)
        if entry is None:
            return None
        if entry[0] <= self._clock():
            del self._data[key]
            return None
        data: dict[str, Any] = json.loads(entry[1])
        return data

    async def save(self, key: str, data: dict[str, Any], *, max_age: int) -> None:
        now = self._clock()
        if len(self._data) >= self._max:
            for stale in [k for k, (until, _) in self._data.items() if until <= now]:
                del self._data[stale]
            while len(self._data) >= self._max:
                del self._data[next(iter(self._data))]  # the oldest
        self._data[key] = (now + max_age, json.dumps(data))

    async def delete(self, key: str) -> None:
        self._data.pop(key, None)

    def __len__(self) -> int:
        return len(self._data)


class Session(dict[str, Any]):
    """The session data of one request."""

    def __init__(self, data: dict[str, Any] | None, *, session_id: str | None) -> None:
        super().__init__(data or {})
        self.session_id = session_id
        self.rotated = False
        self._loaded = _fingerprint(self)

    def rotate(self) -> None:
        """Move the data to a fresh id when saved (call when the person signing in changes)."""
        self.rotated = True

    @property
    def changed(self) -> bool:
        return _fingerprint(self) != self._loaded


def _fingerprint(data: dict[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


class CookieSigner:
    """Signs and checks session ids."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _mac(self, session_id: str) -> str:
        digest = hmac.new(self._secret, b"oversight.session:" + session_id.encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()

    def sign(self, session_id: str) -> str:
        return f"{session_id}.{self._mac(session_id)}"

    def unsign(self, value: str) -> str | None:
        session_id, _, mac = value.partition(".")
        if not session_id or not mac or len(value) > 200:
            return None
        return session_id if hmac.compare_digest(mac, self._mac(session_id)) else None


def store_key(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def new_session_id() -> str:
    return secrets.token_urlsafe(32)


class SessionMiddleware:
    """Loads ``scope["session"]`` from the store and saves it after the response starts."""

    def __init__(self, app: ASGIApp, *, store: SessionStore, secret: bytes, cookie_name: str,
                 max_age: int, secure: bool) -> None:
        self.app = app
        self.store = store
        self.signer = CookieSigner(secret)
        self.cookie_name = cookie_name
        self.max_age = max_age
        self.secure = secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        cookie_value = self._cookie(scope)
        session_id = self.signer.unsign(cookie_value) if cookie_value else None
        data = await self.store.load(store_key(session_id)) if session_id else None
        session = Session(data, session_id=session_id if data is not None else None)
        scope["session"] = session
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                header = await self._persist(session, stale_cookie=cookie_value is not None)
                if header is not None:
                    MutableHeaders(scope=message).append("Set-Cookie", header)
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    def _cookie(self, scope: Scope) -> str | None:
        for name, value in scope.get("headers") or ():
            if name == b"cookie":
                found = cookie_parser(value.decode("latin-1")).get(self.cookie_name)
                if found:
                    return found
        return None

    async def _persist(self, session: Session, *, stale_cookie: bool) -> str | None:
        """Save or delete; the Set-Cookie header to send, if any."""
        old_id = session.session_id
        if not session:
            if old_id is not None:
                await self.store.delete(store_key(old_id))
            return self._set_cookie("", max_age=0) if stale_cookie else None
        if old_id is not None and not session.rotated and not session.changed:
            return None
        new_id = old_id if old_id is not None and not session.rotated else new_session_id()
        if old_id is not None and new_id != old_id:
            await self.store.delete(store_key(old_id))
        await self.store.save(store_key(new_id), dict(session), max_age=self.max_age)
        session.session_id, session.rotated = new_id, False
        return self._set_cookie(self.signer.sign(new_id), max_age=self.max_age)

    def _set_cookie(self, value: str, *, max_age: int) -> str:
        parts = [f"{self.cookie_name}={value}", "Path=/", f"Max-Age={max_age}", "HttpOnly",
                 "SameSite=Lax"]
        if self.secure:
            parts.append("Secure")
        return "; ".join(parts)
