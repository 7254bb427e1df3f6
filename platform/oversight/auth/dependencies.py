"""FastAPI dependencies: who is calling, and may they.

``CurrentPrincipal`` comes from a bearer token when the request has one (a refused token is a
401, never a fall-back to the cookie), else from the session cookie; with neither, 401 with
``WWW-Authenticate: Bearer``. ``require_roles(*roles)`` is a 403 for a signed-in principal
holding none of ``roles``::

    @router.get("/v1/audit/records")
    def records(auditor: Annotated[Principal, Depends(require_roles("auditor", "admin"))]): ...
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request

from oversight.auth.claims import principal_from_dict
from oversight.auth.exceptions import Forbidden, NotAuthenticated, TokenInvalid
from oversight.auth.identity import Principal
from oversight.auth.oidc import OidcClient
from oversight.auth.sessions import SessionStore
from oversight.auth.settings import AuthSettings
from oversight.auth.tokens import TokenVerifier
from oversight.errors import ConfigurationError

SESSION_PRINCIPAL = "principal"
SESSION_SIGNED_IN_AT = "signed_in_at"
SESSION_ID_TOKEN = "id_token"  # noqa: S105 - a session key, not a secret
STATE_KEY = "oversight_auth"


@dataclass
class AuthContext:
    """What the dependencies and routes need, kept on ``app.state.oversight_auth``."""

    settings: AuthSettings
    verifier: TokenVerifier
    oidc: OidcClient
    store: SessionStore
    dev_provider: Any | None = None  # a DevProvider when the development provider is served


def auth_context(request: Request) -> AuthContext:
    """The app's AuthContext (install_auth puts it there)."""
    context = getattr(request.app.state, STATE_KEY, None)
    if not isinstance(context, AuthContext):
        raise ConfigurationError("authentication is not installed on this app (install_auth)")
    return context


def bearer_token(request: Request) -> str | None:
    """The bearer token of the Authorization header; TokenInvalid for another scheme."""
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TokenInvalid("use the Bearer scheme: 'Authorization: Bearer <token>'", reason="malformed")
    return token.strip()


def session_principal(request: Request, max_age: int) -> Principal | None:
    """The principal of the session cookie, if signed in and not past ``max_age``."""
    session = request.scope.get("session")
    if not session:
        return None
    data = session.get(SESSION_PRINCIPAL)
    signed_in_at = session.get(SESSION_SIGNED_IN_AT)
    if not isinstance(data, dict) or not isinstance(signed_in_at, int | float):
        return None
    if time.time() - signed_in_at > max_age:
        session.clear()
        return None
    return principal_from_dict(data)


async def optional_principal(request: Request) -> Principal | None:
    """The caller, or None when the request carries no credentials at all."""
    context = auth_context(request)
    token = bearer_token(request)
    principal = (await context.verifier.verify(token) if token is not None
                 else session_principal(request, context.settings.session_max_age))
    if principal is not None:
        request.state.identity = principal.id  # the access log names who, never a token
    return principal


async def current_principal(request: Request) -> Principal:
    """The caller; 401 when the request carries no credentials."""
    principal = await optional_principal(request)
    if principal is None:
        raise NotAuthenticated("sign in, or send 'Authorization: Bearer <access token>'")
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
OptionalPrincipal = Annotated[Principal | None, Depends(optional_principal)]


def require_roles(*roles: str) -> Callable[[Principal], Principal]:
    """A dependency returning the principal when it holds at least one of ``roles``."""
    wanted = frozenset(roles)
    if not wanted:
        raise ValueError("require_roles needs at least one role")

    def dependency(principal: CurrentPrincipal) -> Principal:
        if not principal.roles & wanted:
            raise Forbidden(f"this needs one of the roles {sorted(wanted)}", required_roles=sorted(wanted))
        return principal

    return dependency
