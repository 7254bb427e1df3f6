"""The development provider: verified by our own bearer verification, demo roles, step-up,
single-use codes with PKCE, and DEVELOPMENT ONLY on every page and in the log."""

from __future__ import annotations

import base64
import hashlib
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from starlette.types import Receive, Scope, Send
from structlog.testing import capture_logs

from oversight.auth.devprovider import ACR_MFA, ACR_PWD, DevProvider
from oversight.auth.settings import AuthSettings
from oversight.demo.users import DEMO_USERS
from tests.auth.apps import BASE_URL, QUIET, build_app, client_for, hidden_inputs
from tests.support.oidc import bearer, serve_in_thread

pytestmark = QUIET

ISSUER = BASE_URL + "/dev-idp"


def dev_app(base_url: str = BASE_URL) -> FastAPI:
    return build_app(AuthSettings(session_secret="s").for_development(base_url))


def provider_of(app: FastAPI) -> DevProvider:
    provider: DevProvider = app.state.oversight_auth.dev_provider
    return provider


async def browser_sign_in(client: httpx.AsyncClient, subject: str, **login: str) -> httpx.Response:
    """Login → the provider's page → pick ``subject`` → callback; the callback's response."""
    started = await client.get("/auth/login", params=login)
    assert started.status_code == 302
    assert started.headers["location"].startswith(ISSUER + "/authorize?")
    page = await client.get(started.headers["location"])
    assert page.status_code == 200 and "DEVELOPMENT ONLY" in page.text
    chosen = await client.post("/dev-idp/authorize", data={**hidden_inputs(page.text), "subject": subject})
    assert chosen.status_code == 302, chosen.text
    assert chosen.headers["location"].startswith(BASE_URL + "/auth/callback?")
    return await client.get(chosen.headers["location"])


async def test_the_discovery_document_describes_itself() -> None:
    async with client_for(dev_app()) as client:
        document = (await client.get("/dev-idp/.well-known/openid-configuration")).json()
        jwks = (await client.get(document["jwks_uri"])).json()
    assert document["issuer"] == ISSUER
    assert document["authorization_endpoint"] == ISSUER + "/authorize"
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert [(k["kty"], k["crv"], "d" in k) for k in jwks["keys"]] == [("EC", "P-256", False)]


async def test_a_demo_users_token_verifies_with_its_roles() -> None:
    app = dev_app()
    token = provider_of(app).issue_access_token("dana")
    async with client_for(app) as client:
        response = await client.get("/whoami", headers=bearer(token))
        admin = await client.get("/admin", headers=bearer(provider_of(app).issue_access_token("adam")))
    assert response.status_code == 200, response.text
    me = response.json()
    assert (me["issuer"], me["subject"], me["name"]) == (ISSUER, "dana", "Dana DBA")
    assert me["roles"] == ["dba"] and me["acr"] == ACR_PWD and me["amr"] == ["pwd"]  # MFA on step-up
    assert admin.status_code == 200 and admin.json()["roles"] == ["admin", "operator"]


async def test_a_token_of_another_dev_provider_is_refused() -> None:
    app, other = dev_app(), dev_app()  # same issuer URL, different keys
    async with client_for(app) as client:
        response = await client.get("/whoami", headers=bearer(provider_of(other).issue_access_token("adam")))
    assert response.status_code == 401
    assert response.json()["reason"] in ("unknown-key", "signature")


@pytest.mark.parametrize("subject", sorted(DEMO_USERS))
async def test_browser_sign_in_as_each_demo_user(subject: str) -> None:
    async with client_for(dev_app()) as client:
        callback = await browser_sign_in(client, subject)
        me = (await client.get("/whoami")).json()
    name, roles, amr = DEMO_USERS[subject]
    assert callback.status_code == 303
    assert (me["subject"], me["name"], me["roles"], me["amr"]) == (subject, name, sorted(roles), sorted(amr))
    assert me["acr"] == (ACR_MFA if "mfa" in amr else ACR_PWD)


async def test_step_up_adds_mfa_and_a_fresh_auth_time() -> None:
    async with client_for(dev_app()) as client:
        await browser_sign_in(client, "riley")
        weak = (await client.get("/whoami")).json()
        await browser_sign_in(client, "riley", acr_values=ACR_MFA, max_age="0")
        strong = (await client.get("/whoami")).json()
    assert (weak["acr"], weak["amr"]) == (ACR_PWD, ["pwd"])
    assert (strong["acr"], strong["amr"]) == (ACR_MFA, ["mfa", "pwd"])
    assert strong["auth_time"] >= weak["auth_time"]


async def test_codes_are_single_use_and_bound_to_the_pkce_verifier() -> None:
    app = dev_app()
    verifier = "a-long-enough-code-verifier-for-pkce-0123456789"
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    redirect = BASE_URL + "/elsewhere"
    request: dict[str, Any] = {"response_type": "code", "client_id": "oversight-dev", "scope": "openid",
                               "redirect_uri": redirect, "state": "st", "nonce": "n",
                               "code_challenge": challenge, "code_challenge_method": "S256"}

    async def code(client: httpx.AsyncClient) -> str:
        chosen = await client.post("/dev-idp/authorize", data={**request, "subject": "sam"})
        return parse_qs(urlsplit(chosen.headers["location"]).query)["code"][0]

    def exchange(the_code: str, code_verifier: str) -> dict[str, str]:
        return {"grant_type": "authorization_code", "code": the_code, "redirect_uri": redirect,
                "client_id": "oversight-dev", "code_verifier": code_verifier}

    async with client_for(app) as client:
        first = await code(client)
        tokens = await client.post("/dev-idp/token", data=exchange(first, verifier))
        replay = await client.post("/dev-idp/token", data=exchange(first, verifier))
        wrong_verifier = await client.post("/dev-idp/token", data=exchange(await code(client), "guess"))
        no_pkce = await client.get("/dev-idp/authorize", params={**request, "code_challenge": ""})
        foreign = await client.get("/dev-idp/authorize", params={**request, "redirect_uri": "https://evil.example/cb"})
        userinfo = await client.get("/dev-idp/userinfo", headers=bearer(tokens.json()["access_token"]))
    assert tokens.status_code == 200 and tokens.json()["token_type"] == "Bearer"
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    assert wrong_verifier.status_code == 400 and wrong_verifier.json()["error"] == "invalid_grant"
    for refused in (no_pkce, foreign):
        assert refused.status_code == 400 and "DEVELOPMENT ONLY" in refused.text
    assert userinfo.json() == {"sub": "sam", "name": "Sam Security", "groups": ["security"],
                               "acr": ACR_PWD, "amr": ["pwd"],
                               "auth_time": userinfo.json()["auth_time"]}


async def test_every_page_says_development_only_and_start_is_logged_loudly() -> None:
    with capture_logs() as logs:
        app = dev_app()
    async with client_for(app) as client:
        await browser_sign_in(client, "adam")
        csrf = (await client.get("/csrf")).json()["csrf_token"]
        logout = await client.post("/auth/logout", data={"csrf_token": csrf})
        end_session = await client.get(logout.headers["location"])
        chooser = await client.get("/dev-idp/authorize", params={"response_type": "code"})
    for page in (end_session, chooser):
        assert "DEVELOPMENT ONLY" in page.text
        assert "<title>" in page.text and "DEVELOPMENT ONLY</title>" in page.text
    assert logout.headers["location"].startswith(ISSUER + "/end-session?")
    assert any(e["event"] == "auth.dev_provider.enabled" and e["log_level"] == "warning"
               and "DEVELOPMENT ONLY" in e["warning"] for e in logs)


class _Deferred:
    """An ASGI app set after the server knows its port."""

    app: FastAPI | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.app is not None
        await self.app(scope, receive, send)


async def test_on_a_real_loopback_server() -> None:
    deferred = _Deferred()
    with serve_in_thread(deferred) as url:
        deferred.app = dev_app(url)
        async with httpx.AsyncClient(base_url=url, timeout=10) as client:
            started = await client.get("/auth/login")
            page = await client.get(started.headers["location"])
            chosen = await client.post(f"{url}/dev-idp/authorize",
                                       data={**hidden_inputs(page.text), "subject": "ava"})
            callback = await client.get(chosen.headers["location"])
            me = await client.get("/whoami")
    assert started.headers["location"].startswith(url + "/dev-idp/authorize?")
    assert callback.status_code == 303
    assert me.status_code == 200 and me.json()["roles"] == ["auditor"]
    assert me.json()["issuer"] == url + "/dev-idp"
