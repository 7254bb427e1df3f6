"""AuthSettings from the one Settings class; refusals of unsafe configurations; claims → roles."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from pydantic import ValidationError

from oversight.auth.claims import claim_at, roles_from_claims
from oversight.auth.settings import AuthSettings
from oversight.auth.wiring import install_auth
from oversight.config import Settings
from oversight.errors import ConfigurationError


def test_from_settings_before_the_fields_exist() -> None:
    auth = AuthSettings.from_settings(Settings())
    assert auth == AuthSettings()
    assert auth.cookie_secure is True and auth.allowed_algorithms == ("RS256", "ES256", "PS256", "EdDSA")


def test_from_settings_reads_every_field_it_finds() -> None:
    settings = SimpleNamespace(
        oidc_issuer="https://login.example.com/realms/acme", oidc_client_id="oversight",
        oidc_client_secret="s3cret", roles_claim="realm_access.roles",
        role_mapping={"acme-dba": ["dba"]}, roles_strict=True, cookie_secure=False,
        allowed_algorithms=["RS256"], unrelated="ignored")
    auth = AuthSettings.from_settings(settings)
    assert auth.oidc_issuer == "https://login.example.com/realms/acme"
    assert auth.oidc_client_secret is not None and auth.oidc_client_secret.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(auth)
    assert auth.audience == "oversight"  # defaults to the client id
    assert (auth.roles_claim, auth.role_mapping, auth.roles_strict) == (
        "realm_access.roles", {"acme-dba": ["dba"]}, True)
    assert auth.allowed_algorithms == ("RS256",) and auth.cookie_secure is False


@pytest.mark.parametrize("algorithms", [("none",), ("HS256",), ("RS256", "HS512"), ()])
def test_symmetric_or_no_algorithms_are_refused(algorithms: tuple[str, ...]) -> None:
    with pytest.raises(ValidationError, match="algorithm"):
        AuthSettings(allowed_algorithms=algorithms)


def test_an_issuer_must_be_an_http_url() -> None:
    with pytest.raises(ValidationError, match="http"):
        AuthSettings(oidc_issuer="login.example.com")


def test_for_development() -> None:
    auth = AuthSettings(roles_claim="groups").for_development("http://127.0.0.1:8000/")
    assert (auth.dev_provider, auth.oidc_issuer, auth.oidc_client_id, auth.public_url) == (
        True, "http://127.0.0.1:8000/dev-idp", "oversight-dev", "http://127.0.0.1:8000")
    assert auth.cookie_secure is False
    assert AuthSettings().for_development("https://demo.example").cookie_secure is True


def test_install_without_a_provider_says_what_to_set() -> None:
    with pytest.raises(ConfigurationError, match="OVERSIGHT_OIDC_ISSUER"):
        install_auth(FastAPI(), AuthSettings())


def test_the_dev_provider_never_impersonates_a_configured_issuer() -> None:
    auth = AuthSettings(dev_provider=True, oidc_issuer="https://login.example.com", oidc_client_id="x")
    with pytest.raises(ConfigurationError, match="development provider"):
        install_auth(FastAPI(), auth)


def test_dev_provider_alone_defaults_to_loopback() -> None:
    app = FastAPI()
    install_auth(app, AuthSettings(dev_provider=True))
    assert app.state.oversight_auth.settings.oidc_issuer == "http://127.0.0.1:8000/dev-idp"
    assert [app.url_path_for(name) for name in ("auth_login", "auth_callback", "auth_logout")] == [
        "/auth/login", "/auth/callback", "/auth/logout"]


def test_claim_paths() -> None:
    claims = {"groups": ["a"], "realm_access": {"roles": ["b"]},
              "https://example.com/roles": ["c"], "resource_access": {"api": {"roles": ["d"]}}}
    assert claim_at(claims, "groups") == ["a"]
    assert claim_at(claims, "realm_access.roles") == ["b"]
    assert claim_at(claims, "https://example.com/roles") == ["c"]  # namespaced, dots and all
    assert claim_at(claims, "resource_access.api.roles") == ["d"]
    assert claim_at(claims, "realm_access.missing") is None
    assert claim_at(claims, "groups.deeper") is None


@pytest.mark.parametrize(("value", "mapping", "strict", "roles"), [
    (["dba", "ops"], {}, False, {"dba", "ops"}),
    (["g-1", "ops"], {"g-1": ["dba", "auditor"]}, False, {"dba", "auditor", "ops"}),
    (["g-1", "ops"], {"g-1": ["dba"]}, True, {"dba"}),
    (["g-1"], {"g-1": []}, False, set()),  # a group mapped to nothing grants nothing
    ("admin", {}, False, {"admin"}),
    ([1, None, "", "x"], {}, False, {"x"}),
    (None, {}, False, set()),
])
def test_roles_from_claims(value: object, mapping: dict[str, list[str]], strict: bool,
                           roles: set[str]) -> None:
    auth = AuthSettings(role_mapping=mapping, roles_strict=strict)
    assert roles_from_claims({"groups": value}, auth) == roles
