"""A small FastAPI app with Oversight's auth installed and a few routes that use it."""

from __future__ import annotations

import re
from html import unescape
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends, FastAPI, Request

from oversight.auth.csrf import CsrfChecked, csrf_token
from oversight.auth.dependencies import CurrentPrincipal, OptionalPrincipal, require_roles
from oversight.auth.identity import Principal
from oversight.auth.sessions import SessionStore
from oversight.auth.settings import AuthSettings
from oversight.auth.wiring import install_auth
from tests.support.oidc import MockProvider

BASE_URL = "https://oversight.test"

#: Third-party deprecation noise from oidc-provider-mock and the authlib parts it uses, and
#: joserfc's note that "EdDSA" is now spelled "Ed25519" (providers still publish "EdDSA").
QUIET = [pytest.mark.filterwarnings("ignore::DeprecationWarning:oidc_provider_mock.*"),
         pytest.mark.filterwarnings("ignore::DeprecationWarning:authlib.*"),
         pytest.mark.filterwarnings("ignore:EdDSA is deprecated")]


def describe(principal: Principal) -> dict[str, Any]:
    return {"id": principal.id, "issuer": principal.issuer, "subject": principal.subject,
            "name": principal.name, "roles": sorted(principal.roles), "acr": principal.acr,
            "amr": sorted(principal.amr), "auth_time": principal.auth_time}


def build_app(auth: AuthSettings, *, store: SessionStore | None = None,
              problem_handlers: bool = False) -> FastAPI:
    """An app with ``install_auth`` and routes: /whoami, /maybe, /admin, /form, /csrf."""
    app = FastAPI()
    if problem_handlers:
        from oversight.api.problems import install_problem_handlers

        install_problem_handlers(app)
    install_auth(app, auth, store=store)

    @app.get("/whoami")
    def whoami(principal: CurrentPrincipal) -> dict[str, Any]:
        return describe(principal)

    @app.get("/maybe")
    def maybe(principal: OptionalPrincipal) -> dict[str, Any]:
        return {"principal": describe(principal) if principal else None}

    @app.get("/admin")
    def admin(principal: Annotated[Principal, Depends(require_roles("admin"))]) -> dict[str, Any]:
        return describe(principal)

    @app.post("/form")
    def form(principal: CurrentPrincipal, _: CsrfChecked) -> dict[str, Any]:
        return {"done": True, "by": principal.id}

    @app.get("/csrf")
    def token(request: Request, _: CurrentPrincipal) -> dict[str, str]:
        return {"csrf_token": csrf_token(request)}

    return app


def client_for(app: FastAPI, base_url: str = BASE_URL) -> httpx.AsyncClient:
    """An HTTP client talking to ``app`` in-process (the app's own calls go over the network)."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url, timeout=10)


def set_cookie_attributes(response: httpx.Response, name: str = "oversight_session") -> set[str]:
    """The attributes of the Set-Cookie header for ``name`` (lower-cased names, with values)."""
    for header in response.headers.get_list("set-cookie"):
        if header.startswith(name + "="):
            return {part.strip().lower() for part in header.split(";")[1:]}
    raise AssertionError(f"no Set-Cookie for {name}: {response.headers}")


def hidden_inputs(html: str) -> dict[str, str]:
    """The hidden form fields of a page (for the development provider's chooser)."""
    found = re.findall(r"<input type=hidden name='([^']+)' value='([^']*)'>", html)
    return {name: unescape(value) for name, value in found}


async def sign_in(client: httpx.AsyncClient, provider: MockProvider, subject: str,
                  next_path: str = "/whoami") -> httpx.Response:
    """The browser's round trip through oidc-provider-mock; the response of the callback."""
    login = await client.get("/auth/login", params={"next": next_path})
    assert login.status_code == 302, login.text
    callback = await provider.sign_in(login.headers["location"], subject)
    return await client.get(callback)
