"""Opaque access tokens: RFC 7662 introspection when configured, else userinfo; cached briefly.

oidc-provider-mock issues opaque access tokens and offers userinfo but no introspection
endpoint; introspection is exercised against the test issuer, which offers both.
"""

from __future__ import annotations

import httpx

from tests.auth.apps import QUIET, build_app, client_for
from tests.support.oidc import JwtIssuer, MockProvider, bearer

pytestmark = QUIET


async def test_an_opaque_token_is_checked_at_userinfo_and_cached(fresh_jwt_issuer: JwtIssuer) -> None:
    issuer = fresh_jwt_issuer
    app = build_app(issuer.auth_settings())
    token = issuer.opaque("dana", roles=["dba"], acr="urn:example:mfa", amr=["pwd", "mfa"],
                          auth_time=1_700_000_100)
    async with client_for(app) as client:
        responses = [await client.get("/whoami", headers=bearer(token)) for _ in range(5)]
    assert all(r.status_code == 200 for r in responses), responses[0].text
    assert responses[0].json() == {
        "id": f"{issuer.url}|dana", "issuer": issuer.url, "subject": "dana", "name": None,
        "roles": ["dba"], "acr": "urn:example:mfa", "amr": ["mfa", "pwd"], "auth_time": 1_700_000_100}
    assert issuer.requests["userinfo"] == 1
    assert issuer.requests["jwks"] == 0  # an opaque token never needs the keys


async def test_introspection_when_configured(fresh_jwt_issuer: JwtIssuer) -> None:
    issuer = fresh_jwt_issuer
    app = build_app(issuer.auth_settings(introspection_endpoint=issuer.url + "/introspect"))
    token = issuer.opaque("ava", roles=["auditor"])
    async with client_for(app) as client:
        for _ in range(3):
            response = await client.get("/whoami", headers=bearer(token))
            assert response.status_code == 200, response.text
            assert response.json()["roles"] == ["auditor"]
    assert issuer.requests["introspection"] == 1
    assert issuer.requests["userinfo"] == 0


async def test_introspection_refusals(fresh_jwt_issuer: JwtIssuer) -> None:
    issuer = fresh_jwt_issuer
    app = build_app(issuer.auth_settings(introspection_endpoint=issuer.url + "/introspect"))
    inactive = issuer.opaque("riley", active=False)
    other_audience = issuer.opaque("riley", aud="another-api")
    async with client_for(app) as client:
        responses = {name: await client.get("/whoami", headers=bearer(token)) for name, token in
                     {"inactive": inactive, "audience": other_audience, "unknown": "no-such-token"}.items()}
    assert {name: r.status_code for name, r in responses.items()} == {
        "inactive": 401, "audience": 401, "unknown": 401}
    assert responses["inactive"].json()["reason"] == "inactive"
    assert responses["audience"].json()["reason"] == "audience"
    assert responses["unknown"].json()["reason"] == "inactive"


async def test_introspection_with_wrong_client_credentials_fails_closed(fresh_jwt_issuer: JwtIssuer) -> None:
    issuer = fresh_jwt_issuer
    app = build_app(issuer.auth_settings(introspection_endpoint=issuer.url + "/introspect",
                                         introspection_client_secret="wrong"))
    async with client_for(app) as client:
        response = await client.get("/whoami", headers=bearer(issuer.opaque("riley")))
    assert response.status_code == 401
    assert response.json()["reason"] == "inactive"


async def test_no_cache_means_every_request_asks(fresh_jwt_issuer: JwtIssuer) -> None:
    issuer = fresh_jwt_issuer
    app = build_app(issuer.auth_settings(token_cache_seconds=0))
    token = issuer.opaque("riley")
    async with client_for(app) as client:
        for _ in range(3):
            assert (await client.get("/whoami", headers=bearer(token))).status_code == 200
    assert issuer.requests["userinfo"] == 3


async def test_mock_provider_opaque_token_through_userinfo(oidc_mock_provider: MockProvider) -> None:
    provider = oidc_mock_provider
    app = build_app(provider.auth_settings())
    token = await provider.access_token("dana")
    async with client_for(app) as client:
        response = await client.get("/whoami", headers=bearer(token))
        assert response.status_code == 200, response.text
        assert response.json() == {
            "id": f"{provider.url}|dana", "issuer": provider.url, "subject": "dana",
            "name": "Dana DBA", "roles": ["dba"], "acr": "urn:mock:mfa", "amr": ["mfa", "pwd"],
            "auth_time": None}
        async with httpx.AsyncClient() as admin:  # the provider revokes the token
            revoked = await admin.post(f"{provider.url}/users/dana/revoke-tokens")
        assert revoked.status_code == 204
        cached = await client.get("/whoami", headers=bearer(token))
    assert cached.status_code == 200  # the verdict is cached for token_cache_seconds

    uncached = build_app(provider.auth_settings(token_cache_seconds=0))
    async with client_for(uncached) as client:
        refused = await client.get("/whoami", headers=bearer(token))
    assert refused.status_code == 401
    assert refused.json()["reason"] == "inactive"
