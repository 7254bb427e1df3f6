"""The approval inbox: server-rendered pages for approvers, auditors, policy authors and admins.

``install_ui(app)`` mounts ``/static`` and the pages; it needs sign-in (``install_auth``) on the
same app. Pages use the same domain services as the API and work without JavaScript.
"""

from __future__ import annotations

from importlib import resources

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles


def install_ui(app: FastAPI) -> None:
    """Add the UI's routes and static files to ``app``."""
    from oversight.ui import audit_pages, inbox, policy_pages, request_page, stop_pages

    static = resources.files("oversight.ui") / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    for module in (inbox, request_page, audit_pages, policy_pages, stop_pages):
        app.include_router(module.router)
