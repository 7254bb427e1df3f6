"""``install_auth``: sessions, the ``/auth`` routes and what the dependencies need, on one app.

With ``dev_provider`` the development provider is mounted at its issuer's path and Oversight
talks to it in-process (an ASGI transport), so it works whatever host and port the browser uses.
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlsplit

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from oversight.auth.dependencies import STATE_KEY, AuthContext
from oversight.auth.devprovider import DevProvider
from oversight.auth.discovery import ProviderKeys, http_client_factory
from oversight.auth.exceptions import AuthError
from oversight.auth.oidc import OidcClient
from oversight.auth.router import router
from oversight.auth.sessions import InMemorySessionStore, SessionMiddleware, SessionStore
from oversight.auth.settings import DEV_PROVIDER_PATH, AuthSettings
from oversight.auth.tokens import TokenVerifier
from oversight.errors import ConfigurationError, OversightError
from oversight.logs import get_logger

log = get_logger("auth")
PROBLEM_MEDIA_TYPE = "application/problem+json"
DEFAULT_DEV_BASE_URL = "http://127.0.0.1:8000"


async def auth_problem_handler(request: Request, exc: Exception) -> JSONResponse:
    """Render an AuthError as problem+json with its headers (used when the app has no handler)."""
    assert isinstance(exc, AuthError)
    return JSONResponse({**exc.problem(), "instance": request.url.path}, status_code=exc.status,
                        media_type=PROBLEM_MEDIA_TYPE, headers=exc.headers)


def _authlib_transport(app: FastAPI) -> Any:
    # authlib's httpx client uses the httpx2 package when it is installed, else httpx.
    try:
        import httpx2
    except ImportError:  # pragma: no cover - depends on the environment
        return httpx.ASGITransport(app=app)
    return httpx2.ASGITransport(app=app)


def _session_secret(auth: AuthSettings) -> bytes:
    if auth.session_secret is not None and auth.session_secret.get_secret_value():
        return auth.session_secret.get_secret_value().encode()
    log.warning("auth.session_secret.generated",
                note="OVERSIGHT_SESSION_SECRET is unset: sessions end at restart and are not "
                "shared between replicas")
    return secrets.token_bytes(32)


def install_auth(app: FastAPI, auth: AuthSettings, *, store: SessionStore | None = None) -> None:
    """Add the session middleware, ``/auth`` routes (and ``/dev-idp`` in development) to ``app``."""
    if auth.dev_provider and not auth.oidc_issuer:
        auth = auth.for_development(auth.public_url or DEFAULT_DEV_BASE_URL)
    issuer, client_id = auth.require_provider()
    dev_provider: DevProvider | None = None
    verifier_transport: httpx.AsyncBaseTransport | None = None
    authlib_transport: Any | None = None
    if auth.dev_provider:
        if not urlsplit(issuer).path.rstrip("/").endswith(DEV_PROVIDER_PATH):
            raise ConfigurationError(
                f"the development provider serves its own issuer (…{DEV_PROVIDER_PATH}); unset "
                "OVERSIGHT_DEV_PROVIDER to use the configured OVERSIGHT_OIDC_ISSUER")
        dev_provider = DevProvider(issuer=issuer, client_id=client_id,
                                   audience=auth.audience or client_id)
        app.include_router(dev_provider.router())
        verifier_transport = httpx.ASGITransport(app=app)
        authlib_transport = _authlib_transport(app)
    http = http_client_factory(auth.http_timeout_seconds, verifier_transport)
    keys = ProviderKeys(issuer, http=http, refresh_min_seconds=auth.jwks_refresh_min_seconds)
    context = AuthContext(
        settings=auth,
        verifier=TokenVerifier(auth, keys=keys, http=http),
        oidc=OidcClient(auth, keys=keys, transport=authlib_transport),
        store=store if store is not None else InMemorySessionStore(),
        dev_provider=dev_provider,
    )
    setattr(app.state, STATE_KEY, context)
    app.add_middleware(SessionMiddleware, store=context.store, secret=_session_secret(auth),
                       cookie_name=auth.cookie_name, max_age=auth.session_max_age,
                       secure=auth.cookie_secure)
    app.include_router(router)
    if not any(cls in app.exception_handlers for cls in (AuthError, OversightError)):
        app.add_exception_handler(AuthError, auth_problem_handler)
    log.info("auth.installed", issuer=issuer, client_id=client_id, audience=auth.audience,
             roles_claim=auth.roles_claim, development=auth.dev_provider,
             introspection=bool(auth.introspection_endpoint))
