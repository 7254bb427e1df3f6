"""DEVELOPMENT ONLY: a tiny OpenID provider served by Oversight itself under ``/dev-idp/``.

For ``oversight demo`` and ``oversight serve --dev``: discovery, a JWKS with an ES256 key made
at start, an authorization page where anyone picks a demo user (no password), a token endpoint
(authorization code + PKCE S256, codes single-use), userinfo and end-session. Access and ID
tokens are JWTs with ``groups`` (the demo user's roles), ``acr``, ``amr`` and ``auth_time``; a
request whose ``acr_values`` mention ``mfa`` is a step-up: ``amr`` gains ``mfa`` and
``auth_time`` is now. Every page says it is for development only, and starting it logs a
warning; it must never face a network anyone else can reach.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from html import escape
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey

from oversight.auth.forms import urlencoded_form
from oversight.demo.users import DEMO_USERS
from oversight.logs import get_logger

log = get_logger("auth")

ACR_PWD = "urn:oversight:dev:pwd"  # noqa: S105 - an acr value, not a password
ACR_MFA = "urn:oversight:dev:mfa"
CODE_SECONDS = 120
BANNER = ("DEVELOPMENT ONLY — this built-in identity provider asks for no password: anyone who "
          "reaches it can sign in as any demo user. Never use it in production.")
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
_AUTHORIZE_FIELDS = ("response_type", "client_id", "redirect_uri", "scope", "state", "nonce",
                     "code_challenge", "code_challenge_method", "acr_values", "max_age")

DemoUsers = Mapping[str, tuple[str, tuple[str, ...], tuple[str, ...]]]


@dataclass(frozen=True)
class _Grant:
    subject: str
    client_id: str
    redirect_uri: str
    nonce: str | None
    code_challenge: str
    step_up: bool
    scope: str
    expires_at: float


def wants_step_up(acr_values: str | None) -> bool:
    """True when the requested ``acr_values`` ask for multi-factor sign-in."""
    return any("mfa" in value or "multi-factor" in value for value in (acr_values or "").split())


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    html = (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{escape(title)} — "
            f"DEVELOPMENT ONLY</title></head><body style='font-family:sans-serif;max-width:44rem;"
            f"margin:2rem auto'><p role=alert style='background:#b00020;color:#fff;padding:1rem;"
            f"font-weight:bold'>{escape(BANNER)}</p><h1>{escape(title)}</h1>{body}</body></html>")
    return HTMLResponse(html, status_code=status, headers={
        "Cache-Control": "no-store", "X-Frame-Options": "DENY", "X-Robots-Tag": "noindex"})


def _error(message: str, status: int = 400) -> HTMLResponse:
    return _page("Sign-in request refused", f"<p>{escape(message)}</p>", status)


class DevProvider:
    """The development provider for one issuer URL and one client."""

    def __init__(self, *, issuer: str, client_id: str, audience: str, users: DemoUsers = DEMO_USERS,
                 token_seconds: int = 3600, clock: Callable[[], float] = time.time) -> None:
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id
        self.audience = audience
        self.users = users
        self.token_seconds = token_seconds
        self._clock = clock
        self.key = ECKey.generate_key("P-256", parameters={"use": "sig", "alg": "ES256"})
        self.key.ensure_kid()
        self._grants: dict[str, _Grant] = {}
        log.warning("auth.dev_provider.enabled", issuer=self.issuer, users=sorted(users),
                    warning=BANNER)

    @property
    def path(self) -> str:
        """Where the routes are mounted (the issuer's path)."""
        return urlsplit(self.issuer).path or "/"

    def metadata(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": self.issuer + "/authorize",
            "token_endpoint": self.issuer + "/token",
            "userinfo_endpoint": self.issuer + "/userinfo",
            "end_session_endpoint": self.issuer + "/end-session",
            "jwks_uri": self.issuer + "/jwks",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["ES256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "scopes_supported": ["openid", "profile", "email"],
            "claims_supported": ["sub", "name", "groups", "acr", "amr", "auth_time"],
            "acr_values_supported": [ACR_PWD, ACR_MFA],
            "x_oversight_development_only": True,
        }

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.key.as_dict(private=False)]}

    # Tokens ----------------------------------------------------------------------------------

    def _claims(self, subject: str, *, step_up: bool) -> dict[str, Any]:
        name, roles, methods = self.users[subject]
        amr = sorted(set(methods) | ({"mfa"} if step_up else set()))
        now = int(self._clock())
        return {"iss": self.issuer, "sub": subject, "name": name, "groups": list(roles),
                "acr": ACR_MFA if "mfa" in amr else ACR_PWD, "amr": amr, "auth_time": now,
                "iat": now, "nbf": now, "exp": now + self.token_seconds}

    def _sign(self, claims: dict[str, Any], typ: str) -> str:
        header = {"alg": "ES256", "kid": self.key.kid, "typ": typ}
        return jwt.encode(header, claims, self.key, algorithms=["ES256"])

    def issue_access_token(self, subject: str, *, step_up: bool = False, scope: str = "openid") -> str:
        """An access token for a demo user, as if signed in just now (tests, CLI)."""
        claims = self._claims(subject, step_up=step_up)
        claims.update(aud=self.audience, client_id=self.client_id, scope=scope,
                      jti=secrets.token_urlsafe(12))
        return self._sign(claims, "at+jwt")

    def issue_id_token(self, subject: str, *, step_up: bool, nonce: str | None, access_token: str) -> str:
        claims = self._claims(subject, step_up=step_up)
        digest = hashlib.sha256(access_token.encode()).digest()
        claims.update(aud=self.client_id, azp=self.client_id,
                      at_hash=base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode())
        if nonce:
            claims["nonce"] = nonce
        return self._sign(claims, "JWT")

    def read_access_token(self, token: str) -> dict[str, Any] | None:
        """The claims of a valid access token this provider issued, else None."""
        try:
            claims = jwt.decode(token, self.key, algorithms=["ES256"]).claims
        except (JoseError, ValueError):
            return None
        if claims.get("iss") != self.issuer or float(claims.get("exp", 0)) < self._clock():
            return None
        return claims

    # The authorization request -----------------------------------------------------------------

    def _allowed_redirect(self, uri: str) -> bool:
        parts, mine = urlsplit(uri), urlsplit(self.issuer)
        return parts.scheme in ("http", "https") and not parts.fragment and (
            parts.hostname in _LOOPBACK or parts.netloc == mine.netloc)

    def _check_request(self, params: Mapping[str, str]) -> str | None:
        if params.get("response_type") != "code":
            return "only response_type=code is supported"
        if params.get("client_id") != self.client_id:
            return f"unknown client_id; this provider serves {self.client_id!r}"
        if not self._allowed_redirect(params.get("redirect_uri", "")):
            return "redirect_uri must be on this host or on loopback"
        if params.get("code_challenge_method") != "S256" or not params.get("code_challenge"):
            return "PKCE with code_challenge_method=S256 is required"
        if "openid" not in params.get("scope", "").split():
            return "scope must include openid"
        return None

    def _chooser(self, params: Mapping[str, str]) -> HTMLResponse:
        hidden = "".join(f"<input type=hidden name='{escape(k)}' value='{escape(params[k])}'>"
                         for k in _AUTHORIZE_FIELDS if params.get(k))
        step_up = wants_step_up(params.get("acr_values"))
        rows = "".join(
            f"<li><button name=subject value='{escape(subject)}'>{escape(name)}</button> "
            f"<code>{escape(subject)}</code> roles: {escape(', '.join(roles))}; "
            f"sign-in: {escape(', '.join(sorted(set(amr) | ({'mfa'} if step_up else set()))))}</li>"
            for subject, (name, roles, amr) in self.users.items())
        note = ("<p><strong>Step-up requested</strong>: the chosen user is signed in with "
                "<code>mfa</code>.</p>" if step_up else "")
        return _page("Choose a demo user", f"{note}<form method=post action='{escape(self.path)}"
                     f"/authorize'>{hidden}<ul>{rows}</ul></form>")

    def router(self) -> APIRouter:
        """The provider's routes, mounted at ``self.path`` (not in the OpenAPI document)."""
        routes = APIRouter(prefix=self.path.rstrip("/"), include_in_schema=False)
        routes.add_api_route("/.well-known/openid-configuration", self._discovery, methods=["GET"])
        routes.add_api_route("/jwks", self._jwks, methods=["GET"])
        routes.add_api_route("/authorize", self._authorize_page, methods=["GET"])
        routes.add_api_route("/authorize", self._authorize_submit, methods=["POST"])
        routes.add_api_route("/token", self._token, methods=["POST"])
        routes.add_api_route("/userinfo", self._userinfo, methods=["GET", "POST"])
        routes.add_api_route("/end-session", self._end_session, methods=["GET", "POST"])
        return routes

    async def _discovery(self) -> JSONResponse:
        return JSONResponse(self.metadata())

    async def _jwks(self) -> JSONResponse:
        return JSONResponse(self.jwks())

    async def _authorize_page(self, request: Request) -> Response:
        params = dict(request.query_params)
        problem = self._check_request(params)
        return _error(problem) if problem else self._chooser(params)

    async def _authorize_submit(self, request: Request) -> Response:
        form = await urlencoded_form(request)
        problem = self._check_request(form)
        subject = form.get("subject", "")
        if problem or subject not in self.users:
            return _error(problem or "choose one of the demo users")
        now = self._clock()
        self._grants = {c: g for c, g in self._grants.items() if g.expires_at > now}
        code = secrets.token_urlsafe(24)
        self._grants[code] = _Grant(
            subject=subject, client_id=form["client_id"], redirect_uri=form["redirect_uri"],
            nonce=form.get("nonce"), code_challenge=form["code_challenge"],
            step_up=wants_step_up(form.get("acr_values")), scope=form.get("scope", "openid"),
            expires_at=now + CODE_SECONDS)
        log.info("auth.dev_provider.signed_in", subject=subject, step_up=self._grants[code].step_up)
        query = {"code": code, **({"state": form["state"]} if form.get("state") else {})}
        separator = "&" if "?" in form["redirect_uri"] else "?"
        return RedirectResponse(form["redirect_uri"] + separator + urlencode(query), status_code=302)

    async def _token(self, request: Request) -> JSONResponse:
        form = await urlencoded_form(request)
        client_id = form.get("client_id") or _basic_user(request.headers.get("Authorization", ""))
        grant = self._grants.pop(form.get("code", ""), None)  # single use, even when refused
        if form.get("grant_type") != "authorization_code":
            return _token_error("unsupported_grant_type")
        if grant is None or grant.expires_at < self._clock():
            return _token_error("invalid_grant", "unknown, used or expired code")
        if client_id != grant.client_id or form.get("redirect_uri") != grant.redirect_uri:
            return _token_error("invalid_grant", "client or redirect_uri differ from the request")
        verifier = form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
        if not hmac.compare_digest(challenge.decode(), grant.code_challenge):
            return _token_error("invalid_grant", "PKCE code_verifier does not match")
        access = self.issue_access_token(grant.subject, step_up=grant.step_up, scope=grant.scope)
        id_token = self.issue_id_token(grant.subject, step_up=grant.step_up, nonce=grant.nonce,
                                       access_token=access)
        return JSONResponse({"access_token": access, "id_token": id_token, "token_type": "Bearer",
                             "expires_in": self.token_seconds, "scope": grant.scope},
                            headers={"Cache-Control": "no-store"})

    async def _userinfo(self, request: Request) -> JSONResponse:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        claims = self.read_access_token(token.strip()) if scheme.lower() == "bearer" else None
        if claims is None:
            return JSONResponse({"error": "invalid_token"}, status_code=401,
                                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        keep = ("sub", "name", "groups", "acr", "amr", "auth_time")
        return JSONResponse({k: claims[k] for k in keep if k in claims})

    async def _end_session(self, request: Request) -> HTMLResponse:
        target = request.query_params.get("post_logout_redirect_uri", "")
        link = (f"<p><a href='{escape(target)}'>Back to Oversight</a></p>"
                if target and self._allowed_redirect(target) else "")
        return _page("Signed out", f"<p>You are signed out of the development provider.</p>{link}")


def _token_error(error: str, description: str | None = None) -> JSONResponse:
    body = {"error": error, **({"error_description": description} if description else {})}
    return JSONResponse(body, status_code=400, headers={"Cache-Control": "no-store"})


def _basic_user(header: str) -> str | None:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user = base64.b64decode(value.strip()).decode().partition(":")[0]
    except (ValueError, UnicodeError):
        return None
    return unquote(user)

