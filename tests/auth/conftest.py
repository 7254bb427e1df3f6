"""Fixtures of the auth tests: the loopback identity providers of ``tests.support.oidc``."""

from tests.support.oidc import fresh_jwt_issuer, jwt_issuer, oidc_mock_provider  # noqa: F401
