"""Identity providers for tests, on loopback, over real HTTP.

``JwtIssuer``: a small issuer (uvicorn in a thread) serving a discovery document, a JWKS (RSA,
EC and Ed25519 keys made per instance), userinfo and RFC 7662 introspection, with ``mint()`` for
JWT access tokens (also hostile ones: ``alg="none"``, ``alg="HS256"`` keyed with the RSA public
key, unknown ``kid``) and ``opaque()`` for opaque tokens. ``MockProvider``: the
``oidc-provider-mock`` package (authorization code flow, opaque access tokens, RS256 ID tokens)
with the predefined users of ``MOCK_USERS``.

In a conftest::

    from tests.support.oidc import jwt_issuer, oidc_mock_provider  # noqa: F401

    def test_admin_only(jwt_issuer):
        app = FastAPI(); install_auth(app, jwt_issuer.auth_settings())
        token = jwt_issuer.mint("adam", roles=["admin"])
        ...  headers={"Authorization": f"Bearer {token}"}
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import secrets
import socket
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

import httpx
import pytest
import uvicorn
from cryptography.hazmat.primitives import serialization
from joserfc import jwt
from joserfc.jwk import ECKey, Key, OKPKey, RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp

from oversight.auth.settings import AuthSettings

CLIENT_ID = "oversight-test"
CLIENT_SECRET = "test-client-secret"
SESSION_SECRET = "test-session-secret"
_DEFAULT: Any = object()


# Serving an ASGI app on loopback ---------------------------------------------------------------

@contextlib.contextmanager
def serve_in_thread(app: ASGIApp, *, lifespan: str = "off") -> Iterator[str]:
    """Run ``app`` with uvicorn on a free 127.0.0.1 port in a thread; yield its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, lifespan=lifespan, log_level="warning",  # type: ignore[arg-type]
                                           access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the loopback server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def bearer(token: str) -> dict[str, str]:
    """Request headers carrying ``token``."""
    return {"Authorization": f"Bearer {token}"}


# A JWT issuer -----------------------------------------------------------------------------------

def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _segment(value: Mapping[str, Any]) -> str:
    return _b64(json.dumps(value, separators=(",", ":")).encode())


_KEY_MAKERS: dict[str, Any] = {
    "RS": lambda: RSAKey.generate_key(2048, parameters={"use": "sig"}),
    "PS": lambda: RSAKey.generate_key(2048, parameters={"use": "sig"}),
    "ES": lambda: ECKey.generate_key("P-256", parameters={"use": "sig"}),
    "Ed": lambda: OKPKey.generate_key("Ed25519", parameters={"use": "sig"}),
}


@dataclass
class _Opaque:
    claims: dict[str, Any]
    active: bool = True


@dataclass
class JwtIssuer:
    """An issuer whose keys and tokens tests control. Counts what it serves."""

    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET
    url: str = ""
    published: dict[str, Key] = field(default_factory=dict)
    unpublished: dict[str, Key] = field(default_factory=dict)
    default_kids: dict[str, str] = field(default_factory=dict)
    opaque_tokens: dict[str, _Opaque] = field(default_factory=dict)
    requests: dict[str, int] = field(default_factory=lambda: {
        "discovery": 0, "jwks": 0, "userinfo": 0, "introspection": 0})

    def __post_init__(self) -> None:
        rsa = self.new_key("RS256", publish=True)
        self.default_kids.update(RS256=rsa, PS256=rsa, RS384=rsa, RS512=rsa,
                                 ES256=self.new_key("ES256", publish=True),
                                 EdDSA=self.new_key("EdDSA", publish=True))

    @classmethod
    @contextlib.contextmanager
    def running(cls) -> Iterator[JwtIssuer]:
        issuer = cls()
        with serve_in_thread(issuer.app()) as url:
            issuer.url = url
            yield issuer

    # keys

    def new_key(self, alg: str = "RS256", *, publish: bool = False) -> str:
        """Make a key for ``alg``; its kid. Unpublished keys sign tokens the JWKS cannot verify."""
        key = _KEY_MAKERS[alg[:2]]()
        key.ensure_kid()
        (self.published if publish else self.unpublished)[key.kid] = key
        return str(key.kid)

    def publish(self, kid: str) -> None:
        """Add an unpublished key to the JWKS (key rotation)."""
        self.published[kid] = self.unpublished.pop(kid)

    def _key(self, kid: str) -> Key:
        return self.published.get(kid) or self.unpublished[kid]

    # tokens

    def claims(self, subject: str | None = "alice", *, roles: Sequence[str] | None = None,
               acr: str | None = None, amr: Sequence[str] | None = None, aud: Any = _DEFAULT,
               exp: int | None = None, nbf: int | None = None, iat: int | None = None,
               issuer: str | None = None, name: str | None = None, auth_time: int | None = None,
               roles_claim: str = "groups", extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {"iss": issuer or self.url, "iat": iat if iat is not None else now,
                                  "exp": exp if exp is not None else now + 600}
        if aud is not None:
            claims["aud"] = self.client_id if aud is _DEFAULT else aud
        for name_, value in (("sub", subject), ("nbf", nbf), ("acr", acr), ("name", name),
                             ("auth_time", auth_time)):
            if value is not None:
                claims[name_] = value
        if amr is not None:
            claims["amr"] = list(amr)
        if roles is not None:
            claims[roles_claim] = list(roles)
        claims.update(extra or {})
        return claims

    def mint(self, subject: str | None = "alice", *, alg: str = "RS256", kid: str | None = None,
             header: Mapping[str, Any] | None = None, **claims: Any) -> str:
        """A signed JWT access token (see ``claims`` for the claim arguments).

        ``alg="none"`` gives an unsigned token; ``alg="HS256"`` one whose HMAC key is the
        issuer's RSA public key (algorithm confusion). ``kid`` picks a key made by ``new_key``.
        """
        payload = self.claims(subject, **claims)
        if alg == "none":
            return f"{_segment({'alg': 'none', 'typ': 'JWT', **(header or {})})}.{_segment(payload)}."
        if alg == "HS256":
            rsa = self._key(self.default_kids["RS256"])
            assert isinstance(rsa, RSAKey)
            secret = rsa.public_key.public_bytes(serialization.Encoding.PEM,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo)
            head = {"alg": "HS256", "typ": "JWT", "kid": rsa.kid, **(header or {})}
            signing_input = f"{_segment(head)}.{_segment(payload)}"
            mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
            return f"{signing_input}.{_b64(mac)}"
        key = self._key(kid or self.default_kids[alg])
        head = {"alg": alg, "typ": "at+jwt", "kid": key.kid, **(header or {})}
        return jwt.encode(head, payload, key, algorithms=[alg])

    def opaque(self, subject: str = "alice", *, active: bool = True, **claims: Any) -> str:
        """An opaque token the issuer's userinfo and introspection endpoints know."""
        token = secrets.token_urlsafe(24)
        self.opaque_tokens[token] = _Opaque(self.claims(subject, **claims), active)
        return token

    def auth_settings(self, **overrides: Any) -> AuthSettings:
        """AuthSettings for this issuer (a confidential client, fixed session secret)."""
        values: dict[str, Any] = {"oidc_issuer": self.url, "oidc_client_id": self.client_id,
                                  "oidc_client_secret": self.client_secret,
                                  "session_secret": SESSION_SECRET}
        return AuthSettings(**{**values, **overrides})

    # the HTTP side

    def app(self) -> Starlette:
        async def discovery(_: Request) -> JSONResponse:
            self.requests["discovery"] += 1
            return JSONResponse({
                "issuer": self.url, "jwks_uri": self.url + "/jwks",
                "authorization_endpoint": self.url + "/authorize", "token_endpoint": self.url + "/token",
                "userinfo_endpoint": self.url + "/userinfo",
                "introspection_endpoint": self.url + "/introspect",
                "id_token_signing_alg_values_supported": ["RS256", "ES256", "PS256", "EdDSA"]})

        async def jwks(_: Request) -> JSONResponse:
            self.requests["jwks"] += 1
            return JSONResponse({"keys": [{**k.as_dict(private=False), "kid": kid}
                                          for kid, k in self.published.items()]})

        async def userinfo(request: Request) -> JSONResponse:
            self.requests["userinfo"] += 1
            scheme, _, token = request.headers.get("authorization", "").partition(" ")
            entry = self.opaque_tokens.get(token) if scheme.lower() == "bearer" else None
            if entry is None or not entry.active:
                return JSONResponse({"error": "invalid_token"}, status_code=401)
            return JSONResponse({k: v for k, v in entry.claims.items()
                                 if k not in ("iss", "aud", "exp", "iat", "nbf")})

        async def introspect(request: Request) -> JSONResponse:
            self.requests["introspection"] += 1
            expected = "Basic " + base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
            if request.headers.get("authorization") != expected:
                return JSONResponse({"error": "invalid_client"}, status_code=401)
            form = dict(parse_qsl((await request.body()).decode()))
            entry = self.opaque_tokens.get(form.get("token", ""))
            if entry is None or not entry.active:
                return JSONResponse({"active": False})
            return JSONResponse({"active": True, "token_type": "Bearer", **entry.claims})

        return Starlette(routes=[
            Route("/.well-known/openid-configuration", discovery), Route("/jwks", jwks),
            Route("/userinfo", userinfo, methods=["GET", "POST"]),
            Route("/introspect", introspect, methods=["POST"])])


# oidc-provider-mock -----------------------------------------------------------------------------

#: subject -> claims of the predefined users of ``MockProvider``.
MOCK_USERS: dict[str, dict[str, Any]] = {
    "riley": {"name": "Riley Requester", "groups": ["requester"], "acr": "urn:mock:pwd", "amr": ["pwd"]},
    "dana": {"name": "Dana DBA", "groups": ["dba"], "acr": "urn:mock:mfa", "amr": ["pwd", "mfa"]},
    "ava": {"name": "Ava Auditor", "groups": ["auditor"], "acr": "urn:mock:pwd", "amr": ["pwd"]},
    "adam": {"name": "Adam Admin", "groups": ["admin", "operator"], "acr": "urn:mock:mfa",
             "amr": ["pwd", "hwk", "mfa"]},
    "pat": {"name": "Pat Provider-Group", "groups": ["ad-dba-team", "unmapped-team"],
            "acr": "urn:mock:pwd", "amr": ["pwd"]},
}


@dataclass
class MockProvider:
    """``oidc-provider-mock`` on loopback; its issuer is ``url``."""

    url: str
    client_id: str = "oversight-web"
    client_secret: str = "web-client-secret"

    def auth_settings(self, **overrides: Any) -> AuthSettings:
        values: dict[str, Any] = {"oidc_issuer": self.url, "oidc_client_id": self.client_id,
                                  "oidc_client_secret": self.client_secret,
                                  "session_secret": SESSION_SECRET}
        return AuthSettings(**{**values, **overrides})

    async def sign_in(self, authorization_url: str, subject: str) -> str:
        """Pick ``subject`` on the provider's page; the callback URL the browser is sent to."""
        assert authorization_url.startswith(self.url + "/"), authorization_url
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.post(authorization_url, data={"sub": subject})
        assert response.status_code == 302, response.text[:500]
        return response.headers["location"]

    async def access_token(self, subject: str, *, scope: str = "openid profile") -> str:
        """An opaque access token for ``subject`` (a code flow without a relying party)."""
        redirect = "http://127.0.0.1:9/callback"
        async with httpx.AsyncClient(timeout=10) as client:
            authorized = await client.post(self.url + "/oauth2/authorize", params={
                "response_type": "code", "client_id": self.client_id, "redirect_uri": redirect,
                "scope": scope, "state": "s"}, data={"sub": subject})
            code = parse_qs(urlsplit(authorized.headers["location"]).query)["code"][0]
            tokens = await client.post(self.url + "/oauth2/token", data={
                "grant_type": "authorization_code", "code": code, "redirect_uri": redirect},
                auth=(self.client_id, self.client_secret))
        token: str = tokens.json()["access_token"]
        return token


@contextlib.contextmanager
def mock_provider_running(users: Mapping[str, Mapping[str, Any]] = MOCK_USERS) -> Iterator[MockProvider]:
    """Start ``oidc-provider-mock`` on a free 127.0.0.1 port with ``users`` predefined."""
    import oidc_provider_mock
    import werkzeug.serving

    app = oidc_provider_mock.app(user_claims=[oidc_provider_mock.User(sub=sub, claims=dict(claims))
                                              for sub, claims in users.items()])
    server = werkzeug.serving.make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield MockProvider(url=f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()


# Fixtures ----------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def jwt_issuer() -> Iterator[JwtIssuer]:
    """A JWT issuer shared by the session (mint tokens for any subject and roles)."""
    with JwtIssuer.running() as issuer:
        yield issuer


@pytest.fixture
def fresh_jwt_issuer() -> Iterator[JwtIssuer]:
    """A JWT issuer of one's own, for tests that rotate keys or count fetches."""
    with JwtIssuer.running() as issuer:
        yield issuer


@pytest.fixture(scope="session")
def oidc_mock_provider() -> Iterator[MockProvider]:
    """``oidc-provider-mock`` with the users of ``MOCK_USERS``."""
    with mock_provider_running() as provider:
        yield provider
