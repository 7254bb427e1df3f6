"""Browser sign-in against oidc-provider-mock over real HTTP: login, callback, session, logout.

The app runs in-process (httpx's ASGI transport, at https://oversight.test); its calls to the
provider (discovery, code exchange, JWKS) go over loopback HTTP, and so do the test's calls
that stand in for the browser at the provider.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from oversight.auth.sessions import InMemorySessionStore, store_key
from tests.auth.apps import BASE_URL, QUIET, build_app, client_for, set_cookie_attributes, sign_in
from tests.support.oidc import MockProvider, bearer, serve_in_thread

pytestmark = QUIET


async def test_sign_in_starts_a_session_with_the_providers_claims(oidc_mock_provider: MockProvider) -> None:
    provider = oidc_mock_provider
    app = build_app(provider.auth_settings())
    async with client_for(app) as client:
        login = await client.get("/auth/login", params={"next": "/whoami"})
        assert login.status_code == 302
        sent = urlsplit(login.headers["location"])
        query = parse_qs(sent.query)
        assert f"{sent.scheme}://{sent.netloc}" == provider.url
        assert query["response_type"] == ["code"] and query["client_id"] == [provider.client_id]
        assert query["redirect_uri"] == [f"{BASE_URL}/auth/callback"]
        assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) >= 43
        assert query["state"][0] and query["nonce"][0]
        assert set(query["scope"][0].split()) == {"openid", "profile", "email"}

        callback = await client.get(await provider.sign_in(login.headers["location"], "dana"))
        assert callback.status_code == 303, callback.text
        assert callback.headers["location"] == "/whoami"
        assert {"httponly", "samesite=lax", "secure", "path=/"} <= set_cookie_attributes(callback)

        me = await client.get("/whoami")
    assert me.status_code == 200, me.text
    assert me.json() == {"id": f"{provider.url}|dana", "issuer": provider.url, "subject": "dana",
                         "name": "Dana DBA", "roles": ["dba"], "acr": "urn:mock:mfa",
                         "amr": ["mfa", "pwd"], "auth_time": me.json()["auth_time"]}
    assert isinstance(me.json()["auth_time"], int)


async def test_the_session_id_changes_at_sign_in(oidc_mock_provider: MockProvider) -> None:
    store = InMemorySessionStore()
    app = build_app(oidc_mock_provider.auth_settings(), store=store)
    async with client_for(app) as client:
        login = await client.get("/auth/login")
        before = client.cookies["oversight_session"]
        await client.get(await oidc_mock_provider.sign_in(login.headers["location"], "riley"))
        after = client.cookies["oversight_session"]
    assert before != after
    assert len(store) == 1  # the pre-sign-in session is gone
    assert await store.load(store_key(after.partition(".")[0])) is not None
    assert await store.load(after.partition(".")[0]) is None  # stored under a digest only


async def test_the_cookie_is_not_secure_when_configured_off(oidc_mock_provider: MockProvider) -> None:
    # Over plain HTTP on loopback, with uvicorn in a thread: the cookie must come back.
    app = build_app(oidc_mock_provider.auth_settings(cookie_secure=False))
    with serve_in_thread(app) as url:
        async with httpx.AsyncClient(base_url=url, timeout=10) as client:
            login = await client.get("/auth/login")
            callback = await client.get(await oidc_mock_provider.sign_in(login.headers["location"], "ava"))
            me = await client.get("/whoami")
    assert "secure" not in set_cookie_attributes(callback)
    assert {"httponly", "samesite=lax"} <= set_cookie_attributes(callback)
    assert me.status_code == 200 and me.json()["roles"] == ["auditor"]


async def test_logout_needs_the_csrf_token_and_ends_the_session(oidc_mock_provider: MockProvider) -> None:
    provider = oidc_mock_provider
    app = build_app(provider.auth_settings())
    async with client_for(app) as client:
        await sign_in(client, provider, "adam")
        token = (await client.get("/csrf")).json()["csrf_token"]
        missing = await client.post("/auth/logout")
        wrong = await client.post("/auth/logout", data={"csrf_token": "not-the-token"})
        assert (await client.get("/whoami")).status_code == 200  # still signed in
        done = await client.post("/auth/logout", data={"csrf_token": token})
        after = await client.get("/whoami")
    for refused in (missing, wrong):
        assert refused.status_code == 403
        assert refused.json()["type"] == "https://oversight.dev/problems/csrf-failed"
    assert done.status_code == 303
    end_session = urlsplit(done.headers["location"])
    endpoint = f"{end_session.scheme}://{end_session.netloc}{end_session.path}"
    assert endpoint == provider.url + "/oauth2/end_session"
    params = parse_qs(end_session.query)
    assert params["post_logout_redirect_uri"] == [f"{BASE_URL}/"]
    assert params["id_token_hint"][0].count(".") == 2
    assert "max-age=0" in set_cookie_attributes(done)
    assert after.status_code == 401


async def test_a_replayed_authorization_code_fails(oidc_mock_provider: MockProvider) -> None:
    provider = oidc_mock_provider
    app = build_app(provider.auth_settings())
    async with client_for(app) as client:
        first_login = await client.get("/auth/login")
        first_callback = await provider.sign_in(first_login.headers["location"], "riley")
        assert (await client.get(first_callback)).status_code == 303
        # The same callback again: its state was used up.
        again = await client.get(first_callback)
        # The same code with a fresh state of this browser: the provider refuses the code.
        second_login = await client.get("/auth/login")
        state = parse_qs(urlsplit(second_login.headers["location"]).query)["state"][0]
        code = parse_qs(urlsplit(first_callback).query)["code"][0]
        replay = await client.get("/auth/callback", params={"code": code, "state": state})
    assert again.status_code == 401 and again.json()["reason"] == "state"
    assert replay.status_code == 401
    assert replay.json()["type"] == "https://oversight.dev/problems/sign-in-failed"
    assert replay.json()["reason"] == "invalid_grant"
    assert "Traceback" not in replay.text


async def test_a_wrong_state_fails_and_signs_nobody_in(oidc_mock_provider: MockProvider) -> None:
    provider = oidc_mock_provider
    app = build_app(provider.auth_settings())
    async with client_for(app) as client:
        login = await client.get("/auth/login")
        callback = await provider.sign_in(login.headers["location"], "dana")
        code = parse_qs(urlsplit(callback).query)["code"][0]
        forged = await client.get("/auth/callback", params={"code": code, "state": "attacker-state"})
        me = await client.get("/whoami")
        fresh = client_for(app)
        async with fresh:  # another browser, without the session that started the flow
            foreign = await fresh.get(callback)
    assert forged.status_code == 401 and forged.json()["reason"] == "state"
    assert me.status_code == 401
    assert foreign.status_code == 401 and foreign.json()["reason"] == "state"


async def test_an_error_from_the_provider_is_a_sign_in_failure(oidc_mock_provider: MockProvider) -> None:
    app = build_app(oidc_mock_provider.auth_settings())
    async with client_for(app) as client:
        response = await client.get("/auth/callback", params={"error": "access_denied", "state": "x"})
    assert response.status_code == 401
    assert response.json()["reason"] == "access_denied"


@pytest.mark.parametrize("target", [
    "https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)",
    "evil.example", "/ok\r\nSet-Cookie: x=y", "http:/evil.example"])
async def test_an_open_redirect_in_next_is_refused(oidc_mock_provider: MockProvider, target: str) -> None:
    app = build_app(oidc_mock_provider.auth_settings())
    async with client_for(app) as client:
        response = await client.get("/auth/login", params={"next": target})
    assert response.status_code == 400
    assert response.json()["type"] == "https://oversight.dev/problems/unsafe-redirect"
    assert "location" not in response.headers


async def test_a_local_next_is_where_sign_in_returns(oidc_mock_provider: MockProvider) -> None:
    app = build_app(oidc_mock_provider.auth_settings())
    async with client_for(app) as client:
        callback = await sign_in(client, oidc_mock_provider, "riley", next_path="/approvals?status=pending")
    assert callback.headers["location"] == "/approvals?status=pending"


async def test_csrf_on_a_form_post(oidc_mock_provider: MockProvider) -> None:
    app = build_app(oidc_mock_provider.auth_settings())
    async with client_for(app) as client:
        await sign_in(client, oidc_mock_provider, "dana")
        token = (await client.get("/csrf")).json()["csrf_token"]
        results = {
            "missing": await client.post("/form", data={"comment": "hi"}),
            "wrong": await client.post("/form", data={"csrf_token": token[:-2] + "xx"}),
            "wrong header": await client.post("/form", headers={"X-CSRF-Token": "nope"}),
            "form field": await client.post("/form", data={"csrf_token": token}),
            "header": await client.post("/form", headers={"X-CSRF-Token": token}),
        }
    assert {name: r.status_code for name, r in results.items()} == {
        "missing": 403, "wrong": 403, "wrong header": 403, "form field": 200, "header": 200}
    assert results["missing"].json()["type"] == "https://oversight.dev/problems/csrf-failed"


async def test_a_bearer_request_needs_no_csrf_token(oidc_mock_provider: MockProvider) -> None:
    app = build_app(oidc_mock_provider.auth_settings())
    token = await oidc_mock_provider.access_token("adam")
    async with client_for(app) as client:
        response = await client.post("/form", headers=bearer(token))
    assert response.status_code == 200 and response.json()["by"] == f"{oidc_mock_provider.url}|adam"


@pytest.mark.parametrize(("strict", "roles"), [(False, ["dba", "unmapped-team"]), (True, ["dba"])])
async def test_provider_groups_through_the_role_mapping(oidc_mock_provider: MockProvider,
                                                        strict: bool, roles: list[str]) -> None:
    auth = oidc_mock_provider.auth_settings(role_mapping={"ad-dba-team": ["dba"]}, roles_strict=strict)
    app = build_app(auth)
    async with client_for(app) as client:
        await sign_in(client, oidc_mock_provider, "pat")
        me = await client.get("/whoami")
    assert me.json()["roles"] == roles


async def test_an_unreachable_provider_at_login_is_503(oidc_mock_provider: MockProvider) -> None:
    app = build_app(oidc_mock_provider.auth_settings(oidc_issuer="http://127.0.0.1:9"))
    async with client_for(app) as client:
        response = await client.get("/auth/login")
    assert response.status_code == 503
    assert response.json()["type"] == "https://oversight.dev/problems/provider-unavailable"
