"""What every page shares: the templates, the signed-in person, navigation, and error pages.

Routes of the UI use ``PageRouter``: an ``OversightError`` raised while building a page becomes
an HTML error page with the same status (never problem+json), and a page that needs someone
signed in sends the browser to ``/auth/login?next=<this page>``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from oversight.api.deps import POLICY_ROLES
from oversight.approvals.visibility import AUDIT_ROLES
from oversight.auth.csrf import csrf_token
from oversight.auth.dependencies import auth_context, optional_principal
from oversight.auth.exceptions import NotAuthenticated
from oversight.auth.identity import Principal
from oversight.errors import OversightError
from oversight.logs import get_logger
from oversight.ui import present

log = get_logger("ui")
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

templates = Environment(loader=PackageLoader("oversight.ui", "templates"),
                        autoescape=select_autoescape(default=True), trim_blocks=True,
                        lstrip_blocks=True)
templates.filters.update(present.FILTERS)
templates.globals.update(present.GLOBALS)


class SignInNeeded(Exception):
    """Raised by ``page_principal`` for a visitor who is not signed in."""


@dataclass(frozen=True)
class NavItem:
    href: str
    label: str


def navigation(principal: Principal | None, stop_roles: frozenset[str]) -> list[NavItem]:
    """The menu for this person's roles."""
    if principal is None:
        return []
    items = [NavItem("/", "Inbox")]
    if principal.roles & AUDIT_ROLES:
        items.append(NavItem("/audit", "Audit ledger"))
    if principal.roles & POLICY_ROLES:
        items.append(NavItem("/policies", "Policies"))
    if principal.roles & ({"admin"} | stop_roles):
        items.append(NavItem("/stops", "Stops"))
    return items


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """Render ``template`` with what every page needs (person, menu, CSRF token, banner)."""
    principal: Principal | None = getattr(request.state, "page_principal", None)
    settings = request.app.state.settings
    auth = auth_context(request)
    html = templates.get_template(template).render(
        request=request, principal=principal, path=request.url.path,
        nav=navigation(principal, frozenset(settings.stop_roles)),
        csrf=csrf_token(request), development=auth.settings.dev_provider,
        now=dt.datetime.now(dt.UTC), **context)
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def error_page(request: Request, status: int, title: str, detail: str) -> HTMLResponse:
    return render(request, "error.html", status=status, title=title, detail=detail)


def login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/auth/login?next={quote(target, safe='')}", status_code=303,
                            headers={"Cache-Control": "no-store"})


class PageRoute(APIRoute):
    """A route whose errors are pages: sign-in redirects and HTML error pages."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except (SignInNeeded, NotAuthenticated):
                return login_redirect(request)
            except OversightError as exc:
                log.info("ui.error", path=request.url.path, status=exc.status, type=exc.type)
                return error_page(request, exc.status, exc.title, exc.detail)

        return page_handler


def page_router() -> APIRouter:
    return APIRouter(route_class=PageRoute, include_in_schema=False)


async def page_principal(request: Request) -> Principal:
    """The signed-in person (bearer token or session); ``SignInNeeded`` otherwise."""
    principal = await optional_principal(request)
    if principal is None:
        raise SignInNeeded
    request.state.page_principal = principal
    return principal


async def maybe_principal(request: Request) -> Principal | None:
    principal = await optional_principal(request)
    request.state.page_principal = principal
    return principal


Person = Annotated[Principal, Depends(page_principal)]
MaybePerson = Annotated[Principal | None, Depends(maybe_principal)]


def json_block(value: Any) -> Markup:
    """Pretty JSON, escaped, for a ``<pre>``."""
    return Markup.escape(json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False))
