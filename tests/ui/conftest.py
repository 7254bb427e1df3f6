"""The UI under test: the real app with the shipped policies and the demo graphs.

HTTP-level tests use bearer tokens from a test issuer (pages accept them like the API does);
the browser tests (``test_browser_*``) sign in through oidc-provider-mock in Chromium.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from oversight.api.app import create_app
from oversight.config import Settings
from oversight.gateway.service import Gateway
from tests.support.browser import axe_source, chromium  # noqa: F401  (session fixtures, once)
from tests.support.oidc import JwtIssuer, jwt_issuer  # noqa: F401  (a fixture)

SHIPPED_POLICIES = Path(__file__).resolve().parents[2] / "policies"


def demo_graphs(gateway: Gateway) -> None:
    from oversight.demo.web import register_demo_graphs

    register_demo_graphs(gateway)


def ui_settings(home: Path, database_url: str) -> Settings:
    return Settings(home=home, database_url=database_url, ledger_origin="ui.test/ledger",
                    seal_interval_seconds=0.2, policy_paths=[SHIPPED_POLICIES],
                    policy_reload_seconds=0, runner_interval_seconds=0.3)


@pytest.fixture(scope="module")
def client(database_url: str, jwt_issuer: JwtIssuer,  # noqa: F811
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    app = create_app(ui_settings(tmp_path_factory.mktemp("home"), database_url),
                     auth=jwt_issuer.auth_settings(cookie_secure=False), setup_graphs=demo_graphs)
    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client


@pytest.fixture
def as_user(jwt_issuer: JwtIssuer) -> Callable[..., dict[str, str]]:  # noqa: F811
    """``as_user("dana", "dba", amr=["pwd", "mfa"])``: headers for that person."""
    def headers(subject: str, *roles: str, amr: list[str] | None = None) -> dict[str, str]:
        token = jwt_issuer.mint(subject, roles=list(roles), amr=amr or ["pwd"],
                                name=subject.title(), auth_time=int(time.time()))
        return {"Authorization": f"Bearer {token}"}
    return headers
