"""The API under test: the real app (lifespan, sequencer, runner) with bearer tokens from a
test issuer served over HTTP on loopback."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from oversight.api.app import create_app
from oversight.config import Settings
from oversight.gateway.service import Gateway
from tests.support.oidc import JwtIssuer, jwt_issuer  # noqa: F401  (a fixture)

POLICIES = Path(__file__).resolve().parents[1] / "gateway" / "data" / "policies"


def auth_header(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _graphs(gateway: Gateway) -> None:
    from oversight.demo.graphs import TRAVEL_RESUME_VALUES, sql_agent, travel

    gateway.register("sql_agent", sql_agent)
    gateway.register("travel", travel, resume_values=TRAVEL_RESUME_VALUES,
                     actions={"approval": "travel.book"})


@pytest.fixture(scope="module")
def client(database_url: str, jwt_issuer: JwtIssuer,  # noqa: F811
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = Settings(home=tmp_path_factory.mktemp("home"), database_url=database_url,
                        ledger_origin="api.test/ledger", seal_interval_seconds=0.2,
                        policy_paths=[POLICIES], policy_reload_seconds=0,
                        runner_interval_seconds=0.5, max_body_bytes=1 << 20)
    app = create_app(settings, auth=jwt_issuer.auth_settings(cookie_secure=False),
                     setup_graphs=_graphs)
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def tokens(jwt_issuer: JwtIssuer) -> Callable[..., str]:  # noqa: F811
    """``tokens("dana", "dba", amr=[...])``: a fresh access token for that person."""
    def mint(subject: str, *roles: str, amr: list[str] | None = None,
             acr: str | None = None) -> str:
        return jwt_issuer.mint(subject, roles=list(roles), amr=amr or ["pwd"], acr=acr)
    return mint
