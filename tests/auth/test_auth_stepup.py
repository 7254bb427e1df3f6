"""Step-up: the principal carries acr/amr/auth_time faithfully; /auth/login passes the request on.

Refusing a decision for a weak sign-in is the approvals service's job; here the claims it
relies on must arrive unchanged, weak ones included.
"""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

from tests.auth.apps import QUIET, build_app, client_for, sign_in
from tests.support.oidc import JwtIssuer, MockProvider, bearer

pytestmark = QUIET


async def test_login_passes_acr_values_and_max_age_to_the_provider(oidc_mock_provider: MockProvider) -> None:
    app = build_app(oidc_mock_provider.auth_settings())
    async with client_for(app) as client:
        response = await client.get("/auth/login", params={
            "next": "/approvals/42", "acr_values": "urn:mock:mfa urn:mock:hwk", "max_age": "0"})
        plain = await client.get("/auth/login")
    assert response.status_code == 302
    query = parse_qs(urlsplit(response.headers["location"]).query)
    assert query["acr_values"] == ["urn:mock:mfa urn:mock:hwk"]
    assert query["max_age"] == ["0"]
    plain_query = parse_qs(urlsplit(plain.headers["location"]).query)
    assert "acr_values" not in plain_query and "max_age" not in plain_query


async def test_malformed_step_up_parameters_are_refused(oidc_mock_provider: MockProvider) -> None:
    app = build_app(oidc_mock_provider.auth_settings())
    async with client_for(app) as client:
        injected = await client.get("/auth/login", params={"acr_values": "mfa&prompt=none"})
        negative = await client.get("/auth/login", params={"max_age": "-1"})
    assert injected.status_code == 422
    assert negative.status_code == 422


async def test_a_weak_browser_sign_in_is_visible_as_weak(oidc_mock_provider: MockProvider) -> None:
    app = build_app(oidc_mock_provider.auth_settings())
    async with client_for(app) as client:
        await sign_in(client, oidc_mock_provider, "riley")
        weak = (await client.get("/whoami")).json()
    async with client_for(app) as client:
        await sign_in(client, oidc_mock_provider, "adam")
        strong = (await client.get("/whoami")).json()
    assert (weak["acr"], weak["amr"]) == ("urn:mock:pwd", ["pwd"])
    assert (strong["acr"], strong["amr"]) == ("urn:mock:mfa", ["hwk", "mfa", "pwd"])
    assert abs(weak["auth_time"] - time.time()) < 120


async def test_bearer_claims_are_carried_as_issued(jwt_issuer: JwtIssuer) -> None:
    app = build_app(jwt_issuer.auth_settings())
    long_ago = int(time.time()) - 86_400
    tokens = {
        "weak": jwt_issuer.mint("riley", acr="urn:example:pwd", amr=["pwd"], auth_time=long_ago),
        "strong": jwt_issuer.mint("dana", acr="urn:example:mfa", amr=["pwd", "otp", "mfa"],
                                  auth_time=long_ago + 10),
        "unstated": jwt_issuer.mint("sam"),
        "amr as one string": jwt_issuer.mint("ava", extra={"amr": "pwd"}),
        "odd types": jwt_issuer.mint("tara", extra={"acr": 7, "auth_time": "yesterday", "amr": [1, "otp"]}),
    }
    async with client_for(app) as client:
        seen = {name: (await client.get("/whoami", headers=bearer(token))).json()
                for name, token in tokens.items()}
    summary = {name: (p["acr"], p["amr"], p["auth_time"]) for name, p in seen.items()}
    assert summary == {
        "weak": ("urn:example:pwd", ["pwd"], long_ago),
        "strong": ("urn:example:mfa", ["mfa", "otp", "pwd"], long_ago + 10),
        "unstated": (None, [], None),
        "amr as one string": (None, ["pwd"], None),
        "odd types": (None, ["otp"], None),
    }
