"""Bearer JWTs over real HTTP: good tokens become principals, hostile ones 401 problems."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.auth.apps import QUIET, build_app, client_for
from tests.support.oidc import JwtIssuer, bearer

pytestmark = QUIET


def _tamper(token: str, **changes: Any) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims.update(changes)
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


def _reheader(token: str, **changes: Any) -> str:
    header, payload, signature = token.split(".")
    fields = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
    fields.update(changes)
    forged = base64.urlsafe_b64encode(json.dumps(fields).encode()).rstrip(b"=").decode()
    return f"{forged}.{payload}.{signature}"


def assert_refused(response: httpx.Response, reason: str) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["type"] == "https://oversight.dev/problems/token-invalid"
    assert body["status"] == 401
    assert body["reason"] == reason
    assert "Traceback" not in response.text and "File \"" not in response.text
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_a_valid_token_becomes_the_principal(jwt_issuer: JwtIssuer) -> None:
    app = build_app(jwt_issuer.auth_settings())
    token = jwt_issuer.mint("dana", roles=["dba"], acr="urn:example:mfa", amr=["pwd", "otp"],
                           name="Dana DBA", auth_time=1_700_000_000)
    async with client_for(app) as client:
        response = await client.get("/whoami", headers=bearer(token))
    assert response.status_code == 200, response.text
    assert response.json() == {
        "id": f"{jwt_issuer.url}|dana", "issuer": jwt_issuer.url, "subject": "dana",
        "name": "Dana DBA", "roles": ["dba"], "acr": "urn:example:mfa", "amr": ["otp", "pwd"],
        "auth_time": 1_700_000_000}


@pytest.mark.parametrize("alg", ["RS256", "ES256", "PS256", "EdDSA"])
async def test_each_allowed_algorithm_verifies(jwt_issuer: JwtIssuer, alg: str) -> None:
    app = build_app(jwt_issuer.auth_settings())
    async with client_for(app) as client:
        response = await client.get("/whoami", headers=bearer(jwt_issuer.mint("sam", alg=alg)))
    assert response.status_code == 200, response.text
    assert response.json()["subject"] == "sam"


async def test_an_algorithm_outside_the_allow_list_is_refused(jwt_issuer: JwtIssuer) -> None:
    app = build_app(jwt_issuer.auth_settings(allowed_algorithms=("ES256",)))
    async with client_for(app) as client:
        refused = await client.get("/whoami", headers=bearer(jwt_issuer.mint("sam", alg="RS256")))
        accepted = await client.get("/whoami", headers=bearer(jwt_issuer.mint("sam", alg="ES256")))
    assert_refused(refused, "algorithm")
    assert accepted.status_code == 200


HOSTILE: dict[str, tuple[Callable[[JwtIssuer], str], str]] = {
    "expired": (lambda i: i.mint(exp=int(time.time()) - 120), "expired"),
    "not yet valid (nbf)": (lambda i: i.mint(nbf=int(time.time()) + 600), "not-yet-valid"),
    "issued in the future (iat)": (lambda i: i.mint(iat=int(time.time()) + 600), "not-yet-valid"),
    "wrong audience": (lambda i: i.mint(aud="another-api"), "audience"),
    "no audience": (lambda i: i.mint(aud=None), "audience"),
    "wrong issuer": (lambda i: i.mint(issuer="https://evil.example"), "issuer"),
    "alg none": (lambda i: i.mint(alg="none"), "algorithm"),
    "HS256 keyed with the public key": (lambda i: i.mint(alg="HS256"), "algorithm"),
    "tampered payload": (lambda i: _tamper(i.mint("riley", roles=["requester"]), groups=["admin"]),
                         "signature"),
    "signature of another key with a published kid": (
        lambda i: i.mint(header={"kid": i.default_kids["RS256"]}, kid=i.new_key("RS256")), "signature"),
    "no sub": (lambda i: i.mint(None), "missing-subject"),
    "empty sub": (lambda i: i.mint(""), "missing-subject"),
    "unknown key id": (lambda i: i.mint(kid=i.new_key("RS256")), "unknown-key"),
    "EC key claimed as RSA": (lambda i: _reheader(i.mint(alg="ES256"), alg="RS256"), "unknown-key"),
    "not a JWT at all, no provider knows it": (lambda i: "not-a-token", "inactive"),
    "garbage with dots": (lambda i: "eyJhbGciOiJSUzI1NiJ9.!!!.###", "malformed"),
}


@pytest.mark.parametrize("case", HOSTILE, ids=list(HOSTILE))
async def test_hostile_tokens_are_401_problems(jwt_issuer: JwtIssuer, case: str) -> None:
    make, reason = HOSTILE[case]
    app = build_app(jwt_issuer.auth_settings())
    async with client_for(app) as client:
        response = await client.get("/whoami", headers=bearer(make(jwt_issuer)))
    assert_refused(response, reason)
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


@pytest.mark.parametrize("case", ["expired", "alg none", "tampered payload", "unknown key id"])
async def test_hostile_tokens_through_the_api_problem_handler(jwt_issuer: JwtIssuer, case: str) -> None:
    make, reason = HOSTILE[case]
    app = build_app(jwt_issuer.auth_settings(), problem_handlers=True)
    async with client_for(app) as client:
        response = await client.get("/whoami", headers=bearer(make(jwt_issuer)))
    assert_refused(response, reason)
    assert response.json()["instance"] == "/whoami"


async def test_a_token_within_the_leeway_is_accepted(jwt_issuer: JwtIssuer) -> None:
    app = build_app(jwt_issuer.auth_settings(clock_leeway_seconds=30))
    token = jwt_issuer.mint("riley", exp=int(time.time()) - 5, nbf=int(time.time()) + 5)
    async with client_for(app) as client:
        response = await client.get("/whoami", headers=bearer(token))
    assert response.status_code == 200, response.text


async def test_the_jwks_is_fetched_once_for_many_tokens(fresh_jwt_issuer: JwtIssuer) -> None:
    issuer = fresh_jwt_issuer
    app = build_app(issuer.auth_settings())
    async with client_for(app) as client:
        for number in range(30):
            alg = ("RS256", "ES256", "PS256", "EdDSA")[number % 4]
            response = await client.get("/whoami", headers=bearer(issuer.mint(f"user{number}", alg=alg)))
            assert response.status_code == 200
    assert issuer.requests["jwks"] == 1
    assert issuer.requests["discovery"] == 1


async def test_a_rotated_key_is_picked_up_by_one_refresh(fresh_jwt_issuer: JwtIssuer) -> None:
    issuer = fresh_jwt_issuer
    app = build_app(issuer.auth_settings())
    async with client_for(app) as client:
        assert (await client.get("/whoami", headers=bearer(issuer.mint("a")))).status_code == 200
        assert issuer.requests["jwks"] == 1
        kid = issuer.new_key("ES256")
        issuer.publish(kid)  # the provider rotates after Oversight cached its keys
        rotated = await client.get("/whoami", headers=bearer(issuer.mint("b", alg="ES256", kid=kid)))
        assert rotated.status_code == 200, rotated.text
        assert issuer.requests["jwks"] == 2
        unknown = await client.get("/whoami", headers=bearer(issuer.mint("c", kid=issuer.new_key())))
    assert_refused(unknown, "unknown-key")
    assert issuer.requests["jwks"] == 2  # rate-limited: the refresh just happened


async def test_unknown_key_ids_cannot_flood_the_provider(fresh_jwt_issuer: JwtIssuer) -> None:
    issuer = fresh_jwt_issuer
    app = build_app(issuer.auth_settings())
    async with client_for(app) as client:
        for _ in range(10):
            response = await client.get("/whoami", headers=bearer(issuer.mint(kid=issuer.new_key())))
            assert_refused(response, "unknown-key")
    assert issuer.requests["jwks"] == 2  # the first load and one refresh


async def test_an_unreachable_provider_fails_closed(jwt_issuer: JwtIssuer) -> None:
    app = build_app(jwt_issuer.auth_settings(oidc_issuer="http://127.0.0.1:9", http_timeout_seconds=2))
    async with client_for(app) as client:
        response = await client.get("/whoami", headers=bearer(jwt_issuer.mint("dana")))
    assert_refused(response, "unverifiable")


async def test_a_discovery_document_for_another_issuer_is_not_trusted(jwt_issuer: JwtIssuer) -> None:
    # Served at the configured URL, but naming 127.0.0.1 while we configured localhost.
    configured = jwt_issuer.url.replace("127.0.0.1", "localhost")
    app = build_app(jwt_issuer.auth_settings(oidc_issuer=configured))
    async with client_for(app) as client:
        response = await client.get("/whoami", headers=bearer(jwt_issuer.mint("dana", issuer=configured)))
    assert_refused(response, "unverifiable")


async def test_another_authorization_scheme_is_refused(jwt_issuer: JwtIssuer) -> None:
    app = build_app(jwt_issuer.auth_settings())
    async with client_for(app) as client:
        response = await client.get("/whoami", headers={"Authorization": "Basic YWxpY2U6c2VjcmV0"})
    assert_refused(response, "malformed")


async def test_no_credentials_is_401_with_a_bearer_challenge(jwt_issuer: JwtIssuer) -> None:
    app = build_app(jwt_issuer.auth_settings())
    async with client_for(app) as client:
        response = await client.get("/whoami")
        optional = await client.get("/maybe")
        optional_bad = await client.get("/maybe", headers=bearer(jwt_issuer.mint(alg="none")))
    assert response.status_code == 401
    assert response.json()["type"] == "https://oversight.dev/problems/not-authenticated"
    assert response.headers["www-authenticate"] == 'Bearer realm="oversight"'
    assert optional.status_code == 200 and optional.json() == {"principal": None}
    assert_refused(optional_bad, "algorithm")  # a bad token never falls back to anonymous


async def test_require_roles_is_403_for_the_wrong_roles(jwt_issuer: JwtIssuer) -> None:
    app = build_app(jwt_issuer.auth_settings())
    async with client_for(app) as client:
        denied = await client.get("/admin", headers=bearer(jwt_issuer.mint("riley", roles=["requester"])))
        allowed = await client.get("/admin", headers=bearer(jwt_issuer.mint("adam", roles=["admin"])))
        anonymous = await client.get("/admin")
    assert denied.status_code == 403
    assert denied.json()["type"] == "https://oversight.dev/problems/forbidden"
    assert denied.json()["required_roles"] == ["admin"]
    assert allowed.status_code == 200 and allowed.json()["roles"] == ["admin"]
    assert anonymous.status_code == 401


async def test_roles_from_a_nested_claim_through_the_mapping(jwt_issuer: JwtIssuer) -> None:
    auth = jwt_issuer.auth_settings(roles_claim="realm_access.roles",
                                    role_mapping={"oversight-admins": ["admin", "operator"]})
    app = build_app(auth)
    token = jwt_issuer.mint("adam", extra={"realm_access": {"roles": ["oversight-admins", "dba"]},
                                           "groups": ["ignored"]})
    async with client_for(app) as client:
        response = await client.get("/admin", headers=bearer(token))
    assert response.status_code == 200, response.text
    assert response.json()["roles"] == ["admin", "dba", "operator"]


async def test_identity_is_issuer_and_subject_not_email(jwt_issuer: JwtIssuer) -> None:
    app = build_app(jwt_issuer.auth_settings())
    first = jwt_issuer.mint("user-1", extra={"email": "same@example.com"})
    second = jwt_issuer.mint("user-2", extra={"email": "same@example.com"})
    async with client_for(app) as client:
        ids = [(await client.get("/whoami", headers=bearer(t))).json()["id"] for t in (first, second)]
    assert ids == [f"{jwt_issuer.url}|user-1", f"{jwt_issuer.url}|user-2"]
