"""Session cookies and the store: signed ids only, digests as keys, expiry, forged cookies."""

from __future__ import annotations

import time

import pytest

from oversight.auth.dependencies import SESSION_PRINCIPAL, SESSION_SIGNED_IN_AT
from oversight.auth.sessions import CookieSigner, InMemorySessionStore, store_key
from tests.auth.apps import QUIET, build_app, client_for, set_cookie_attributes
from tests.support.oidc import JwtIssuer

pytestmark = QUIET


def test_a_signed_id_round_trips_and_a_forged_one_does_not() -> None:
    signer, other = CookieSigner(b"one secret"), CookieSigner(b"another secret")
    value = signer.sign("abc123")
    assert signer.unsign(value) == "abc123"
    assert other.unsign(value) is None
    assert signer.unsign("abc124." + value.partition(".")[2]) is None
    assert signer.unsign("abc123") is None and signer.unsign("") is None


async def test_the_store_forgets_expired_sessions() -> None:
    now = [1000.0]
    store = InMemorySessionStore(clock=lambda: now[0])
    await store.save("k", {"a": 1}, max_age=10)
    assert await store.load("k") == {"a": 1}
    now[0] += 11
    assert await store.load("k") is None
    assert len(store) == 0


async def test_the_store_is_bounded() -> None:
    store = InMemorySessionStore(max_sessions=3)
    for number in range(5):
        await store.save(f"k{number}", {"n": number}, max_age=60)
    assert len(store) == 3
    assert await store.load("k0") is None and await store.load("k4") == {"n": 4}


def _signed_in(issuer: str, subject: str, at: float) -> dict[str, object]:
    return {SESSION_PRINCIPAL: {"iss": issuer, "sub": subject, "name": None, "roles": ["dba"],
                                "acr": None, "amr": ["pwd"], "auth_time": int(at)},
            SESSION_SIGNED_IN_AT: int(at), "csrf": "t"}


async def test_a_stored_session_signs_in_and_a_forged_cookie_does_not(jwt_issuer: JwtIssuer) -> None:
    store = InMemorySessionStore()
    auth = jwt_issuer.auth_settings()
    app = build_app(auth, store=store)
    signer = CookieSigner(auth.session_secret.get_secret_value().encode())  # type: ignore[union-attr]
    await store.save(store_key("sid-1"), _signed_in(jwt_issuer.url, "dana", time.time()), max_age=60)
    async with client_for(app) as client:
        good = await client.get("/whoami", headers={"Cookie": "oversight_session=" + signer.sign("sid-1")})
    async with client_for(app) as client:
        forged = await client.get("/whoami", headers={"Cookie": "oversight_session=" + "sid-1.bm90LWEtbWFj"})
    assert good.status_code == 200 and good.json()["roles"] == ["dba"]
    assert forged.status_code == 401
    assert "max-age=0" in set_cookie_attributes(forged)  # the stale cookie is cleared


async def test_a_session_past_its_max_age_is_signed_out(jwt_issuer: JwtIssuer) -> None:
    store = InMemorySessionStore()
    auth = jwt_issuer.auth_settings(session_max_age=3600)
    app = build_app(auth, store=store)
    signer = CookieSigner(auth.session_secret.get_secret_value().encode())  # type: ignore[union-attr]
    await store.save(store_key("old"), _signed_in(jwt_issuer.url, "dana", time.time() - 3601), max_age=60)
    async with client_for(app) as client:
        response = await client.get("/whoami", headers={"Cookie": "oversight_session=" + signer.sign("old")})
    assert response.status_code == 401
    assert await store.load(store_key("old")) is None


async def test_anonymous_requests_create_no_session(jwt_issuer: JwtIssuer) -> None:
    store = InMemorySessionStore()
    app = build_app(jwt_issuer.auth_settings(), store=store)
    async with client_for(app) as client:
        response = await client.get("/maybe")
    assert response.status_code == 200
    assert "set-cookie" not in response.headers
    assert len(store) == 0


@pytest.mark.parametrize("secure", [True, False])
async def test_the_cookie_attributes(jwt_issuer: JwtIssuer, secure: bool) -> None:
    app = build_app(jwt_issuer.auth_settings(cookie_secure=secure))
    async with client_for(app) as client:
        response = await client.get("/auth/login")  # a session is needed for state and nonce
    attributes = set_cookie_attributes(response)
    assert {"httponly", "samesite=lax", "path=/", "max-age=28800"} <= attributes
    assert ("secure" in attributes) is secure
