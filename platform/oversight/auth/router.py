"""``/auth``: browser sign-in, the callback, sign-out, and step-up sign-in.

``GET /auth/login?next=/path`` sends the browser to the provider; ``acr_values`` and
``max_age`` (step-up) are passed on to it. ``GET /auth/callback`` completes the flow and starts
a fresh session. ``POST /auth/logout`` (CSRF-checked) ends it, at the provider too when it
offers RP-initiated logout.
"""

from __future__ import annotations

import time
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse

from oversight.auth.claims import principal_to_dict
from oversight.auth.csrf import CsrfChecked, csrf_token
from oversight.auth.dependencies import (
    SESSION_ID_TOKEN,
    SESSION_PRINCIPAL,
    SESSION_SIGNED_IN_AT,
    AuthContext,
    auth_context,
)
from oversight.auth.exceptions import SignInFailed, UnsafeRedirect
from oversight.auth.sessions import Session
from oversight.logs import get_logger

log = get_logger("auth")
router = APIRouter(prefix="/auth", tags=["auth"])
AuthContextDep = Annotated[AuthContext, Depends(auth_context)]

ACR_VALUES_PATTERN = r"^[A-Za-z0-9:._/\-]+( [A-Za-z0-9:._/\-]+)*$"


def safe_next(target: str | None) -> str:
    """``target`` when it is a path on this site; UnsafeRedirect otherwise."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if (not target.startswith("/") or target.startswith("//") or "\\" in target
            or parts.scheme or parts.netloc or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in target)
            or len(target) > 2048):
        raise UnsafeRedirect("'next' must be a path on this site, such as /approvals")
    return target


def _session(request: Request) -> Session:
    session = request.scope.get("session")
    assert isinstance(session, Session), "install_auth adds the session middleware"
    return session


def _external(request: Request, context: AuthContext, path: str) -> str:
    base = context.settings.public_url
    if base:
        return base.rstrip("/") + path
    return str(request.base_url).rstrip("/") + path


@router.get("/login", name="auth_login", summary="Sign in with the OpenID provider")
async def login(
    request: Request,
    context: AuthContextDep,
    next: Annotated[str | None, Query(description="Local path to return to")] = None,
    acr_values: Annotated[str | None, Query(max_length=512, pattern=ACR_VALUES_PATTERN,
                                            description="Step-up: acceptable acr values")] = None,
    max_age: Annotated[int | None, Query(ge=0, description="Step-up: seconds since sign-in")] = None,
) -> RedirectResponse:
    target = safe_next(next)
    url = await context.oidc.authorization_url(
        request, redirect_uri=_external(request, context, "/auth/callback"), next_path=target,
        acr_values=acr_values, max_age=max_age)
    log.info("auth.signin.started", step_up=bool(acr_values or max_age is not None))
    return RedirectResponse(url, status_code=302, headers={"Cache-Control": "no-store"})


@router.get("/callback", name="auth_callback", summary="Where the provider sends the browser back")
async def callback(request: Request, context: AuthContextDep) -> RedirectResponse:
    error = request.query_params.get("error")
    if error:
        log.info("auth.signin.refused", error=error[:64])
        raise SignInFailed("the provider did not sign you in", reason=error[:64])
    if not request.query_params.get("code"):
        raise SignInFailed("the callback carries no authorization code", reason="code")
    sign_in = await context.oidc.complete(request)
    session = _session(request)
    session.clear()
    session.rotate()
    session[SESSION_PRINCIPAL] = principal_to_dict(sign_in.principal)
    session[SESSION_SIGNED_IN_AT] = int(time.time())
    if sign_in.id_token:
        session[SESSION_ID_TOKEN] = sign_in.id_token
    csrf_token(request)
    log.info("auth.signin.succeeded", identity=sign_in.principal.id,
             roles=sorted(sign_in.principal.roles), acr=sign_in.principal.acr,
             amr=sorted(sign_in.principal.amr))
    return RedirectResponse(safe_next(sign_in.next_path), status_code=303,
                            headers={"Cache-Control": "no-store"})


@router.post("/logout", name="auth_logout", summary="Sign out (here and at the provider)")
async def logout(request: Request, context: AuthContextDep, _: CsrfChecked) -> RedirectResponse:
    session = _session(request)
    id_token = session.get(SESSION_ID_TOKEN)
    identity = (session.get(SESSION_PRINCIPAL) or {}).get("sub")
    session.clear()
    log.info("auth.signout", signed_in=identity is not None)
    home = _external(request, context, "/")
    url = await context.oidc.logout_url(post_logout_redirect_uri=home,
                                        id_token_hint=id_token if isinstance(id_token, str) else None)
    return RedirectResponse(url or "/", status_code=303, headers={"Cache-Control": "no-store"})
