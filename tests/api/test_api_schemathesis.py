"""Property-based requests generated from our own OpenAPI document (schemathesis), against the
live server on loopback: no 5xx, and every 2xx body matches its declared schema."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import response_schema_conformance

from oversight.api.app import create_app
from oversight.config import Settings
from tests.api.conftest import POLICIES, _graphs
from tests.support.oidc import serve_in_thread

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def live(database_url, jwt_issuer, tmp_path_factory):
    settings = Settings(home=tmp_path_factory.mktemp("live"), database_url=database_url,
                        policy_paths=[POLICIES], policy_reload_seconds=0)
    app = create_app(settings, auth=jwt_issuer.auth_settings(cookie_secure=False),
                     setup_graphs=_graphs)
    with serve_in_thread(app, lifespan="on") as base_url:
        yield base_url


def test_generated_requests_never_fail_on_our_side(live, jwt_issuer):
    token = jwt_issuer.mint("adam", roles=["admin", "auditor", "policy_author", "dba"],
                            amr=["pwd", "mfa"])
    schema = schemathesis.openapi.from_url(f"{live}/openapi.json")
    checked = 0
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(max_examples=12, deadline=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def check(case):
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
            response = case.call(base_url=live, timeout=30)
            assert response.status_code < 500, (case.method, case.formatted_path,
                                                response.text[:500])
            if 200 <= response.status_code < 300:
                case.validate_response(response, checks=[response_schema_conformance])

        check()
        checked += 1
    assert checked >= 15  # every route of /v1 and the health routes were exercised
