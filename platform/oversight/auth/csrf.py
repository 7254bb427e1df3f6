"""CSRF protection for state-changing form posts made with the session cookie.

Each session holds one random token. Forms carry it as ``csrf_token`` (templates call
``csrf_token(request)``), scripts as the ``X-CSRF-Token`` header. A request authenticated by
a bearer token needs none: browsers never attach one on their own. ``SameSite=Lax`` on the
cookie is a second line, not the only one.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import Depends, Request

from oversight.auth.exceptions import CsrfFailed
from oversight.auth.forms import is_urlencoded, urlencoded_form
from oversight.errors import ConfigurationError

SESSION_KEY = "csrf"
FORM_FIELD = "csrf_token"
HEADER = "X-CSRF-Token"


def _session(request: Request) -> dict[str, object]:
    if "session" not in request.scope:
        raise ConfigurationError("CSRF tokens need the session middleware (install_auth)")
    return request.session


def csrf_token(request: Request) -> str:
    """This session's CSRF token, created on first use (put it in every form)."""
    session = _session(request)
    token = session.get(SESSION_KEY)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session[SESSION_KEY] = token
    return token


def verify_csrf(request: Request, form_value: str | None) -> None:
    """Raise CsrfFailed (403) unless ``form_value`` is this session's token."""
    expected = _session(request).get(SESSION_KEY)
    if not isinstance(expected, str) or not form_value or not hmac.compare_digest(
            form_value.encode(), expected.encode()):
        raise CsrfFailed("this form needs the CSRF token of your session; reload the page and retry")


def uses_bearer_token(request: Request) -> bool:
    return request.headers.get("Authorization", "").lower().startswith("bearer ")


async def require_csrf(request: Request) -> None:
    """Dependency for state-changing posts: the token from the header or the form field."""
    if uses_bearer_token(request):
        return
    value = request.headers.get(HEADER)
    if not value:
        if is_urlencoded(request):
            value = (await urlencoded_form(request)).get(FORM_FIELD)
        elif request.headers.get("Content-Type", "").startswith("multipart/form-data"):
            field = (await request.form()).get(FORM_FIELD)  # needs python-multipart
            value = field if isinstance(field, str) else None
    verify_csrf(request, value)


#: ``def post(..., _: CsrfChecked)`` or ``dependencies=[Depends(require_csrf)]``.
CsrfChecked = Annotated[None, Depends(require_csrf)]
