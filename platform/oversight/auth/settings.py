"""What authentication needs to know, read from the one ``Settings`` class.

Every field has an environment variable of the same name, upper-cased, with the
``OVERSIGHT_`` prefix (``oidc_issuer`` → ``OVERSIGHT_OIDC_ISSUER``; dicts and lists as JSON).
``AuthSettings.from_settings(settings)`` reads them with ``getattr`` so it works whether or not
``Settings`` declares them yet.
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from oversight.errors import ConfigurationError

#: Only asymmetric signatures: a shared secret would let anyone holding it mint tokens, and a
#: public key used as an HMAC secret is the classic algorithm-confusion attack.
ASYMMETRIC_ALGORITHMS = frozenset({
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
})
DEFAULT_ALGORITHMS = ("RS256", "ES256", "PS256", "EdDSA")
DEV_PROVIDER_PATH = "/dev-idp"
DEV_CLIENT_ID = "oversight-dev"


class AuthSettings(BaseModel):
    """OpenID Connect, bearer tokens, browser sessions and the development provider."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    oidc_issuer: str | None = Field(
        default=None, description="Issuer URL of the OpenID provider (its discovery document "
        "is at <issuer>/.well-known/openid-configuration).")
    oidc_client_id: str | None = Field(default=None, description="Client id registered at the provider.")
    oidc_client_secret: SecretStr | None = Field(
        default=None, description="Client secret; leave unset for a public client (PKCE only).")
    oidc_scopes: str = Field(default="openid profile email", description="Scopes asked for at sign-in.")
    oidc_audience: str | None = Field(
        default=None, description="Expected `aud` of API access tokens; default the client id.")
    roles_claim: str = Field(
        default="groups", description="Where roles are in the claims: a claim name, or a dotted "
        "path such as `realm_access.roles` (a claim whose name has dots is tried whole first).")
    role_mapping: dict[str, list[str]] = Field(
        default_factory=dict, description="Provider group → Oversight roles (JSON). Groups "
        "without an entry pass through unchanged unless `roles_strict`.")
    roles_strict: bool = Field(default=False, description="Drop groups that have no mapping.")
    introspection_endpoint: str | None = Field(
        default=None, description="RFC 7662 endpoint for opaque access tokens; without it "
        "opaque tokens are checked at the provider's userinfo endpoint.")
    introspection_client_id: str | None = Field(
        default=None, description="Client id for introspection; default `oidc_client_id`.")
    introspection_client_secret: SecretStr | None = Field(
        default=None, description="Client secret for introspection; default `oidc_client_secret`.")
    public_url: str | None = Field(
        default=None, description="Where browsers reach Oversight (scheme, host, port), used "
        "for redirect URIs; default what the request says.")
    cookie_secure: bool = Field(default=True, description="Send the session cookie over HTTPS only.")
    cookie_name: str = Field(default="oversight_session", pattern=r"^[A-Za-z0-9_\-]+$")
    session_secret: SecretStr | None = Field(
        default=None, description="Key that signs session cookies; random per process if unset "
        "(sessions then end at restart and are not shared between replicas).")
    session_store: Literal["database", "memory"] = Field(
        default="database", description="Where browser sessions live: the database (shared by "
        "every replica, kept across restarts) or this process's memory.")
    session_max_age: int = Field(default=8 * 3600, gt=0, description="Seconds a browser session lasts.")
    dev_provider: bool = Field(
        default=False, description="Serve the built-in development identity provider under "
        "/dev-idp/ (DEVELOPMENT ONLY: anyone may sign in as any demo user).")
    step_up_acr_values: str | None = Field(
        default=None, description="acr_values to ask the provider for when a rule needs a "
        "sign-in method (amr, e.g. mfa) but names no acr; providers name their levels "
        "differently (Keycloak: a level name, Okta: 'phr', Auth0: the MFA policy URI).")
    token_cache_seconds: int = Field(
        default=60, ge=0, description="How long an opaque token's verdict is cached.")
    allowed_algorithms: tuple[str, ...] = Field(
        default=DEFAULT_ALGORITHMS, description="JWS algorithms accepted (asymmetric only).")
    clock_leeway_seconds: int = Field(default=30, ge=0, le=300, description="Tolerated clock skew.")
    jwks_refresh_min_seconds: float = Field(
        default=30.0, ge=0, description="Least time between JWKS refreshes caused by unknown key ids.")
    http_timeout_seconds: float = Field(default=5.0, gt=0, description="Timeout of calls to the provider.")

    @field_validator("allowed_algorithms")
    @classmethod
    def _asymmetric_only(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        refused = sorted(set(value) - ASYMMETRIC_ALGORITHMS)
        if refused:
            raise ValueError(f"only asymmetric algorithms may be allowed, not {refused} "
                             f"(choose from {sorted(ASYMMETRIC_ALGORITHMS)})")
        if not value:
            raise ValueError("at least one algorithm must be allowed")
        return value

    @field_validator("oidc_issuer", "introspection_endpoint", "public_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value

    @property
    def audience(self) -> str | None:
        """The `aud` API access tokens must carry."""
        return self.oidc_audience or self.oidc_client_id

    @property
    def scopes(self) -> tuple[str, ...]:
        return tuple(self.oidc_scopes.split())

    @classmethod
    def from_settings(cls, settings: Any, **overrides: Any) -> AuthSettings:
        """Build from ``oversight.config.Settings`` (fields it lacks keep their defaults)."""
        values: dict[str, Any] = {}
        for name in cls.model_fields:
            value = getattr(settings, name, None)
            if value is not None:
                values[name] = value
        values.update(overrides)
        return cls(**values)

    def for_development(self, base_url: str) -> AuthSettings:
        """These settings with the development provider served by Oversight at ``base_url``."""
        base = base_url.rstrip("/")
        return self.model_copy(update={
            "dev_provider": True,
            "public_url": base,
            "oidc_issuer": base + DEV_PROVIDER_PATH,
            "oidc_client_id": self.oidc_client_id or DEV_CLIENT_ID,
            "cookie_secure": base.startswith("https://"),
            "step_up_acr_values": self.step_up_acr_values or "urn:oversight:dev:mfa",
        })

    def require_provider(self) -> tuple[str, str]:
        """Issuer and client id, or a ConfigurationError saying what to set."""
        if not self.oidc_issuer or not self.oidc_client_id:
            raise ConfigurationError(
                "sign-in needs an OpenID provider: set OVERSIGHT_OIDC_ISSUER and "
                "OVERSIGHT_OIDC_CLIENT_ID (and OVERSIGHT_OIDC_CLIENT_SECRET for a confidential "
                "client), or run with the development provider (OVERSIGHT_DEV_PROVIDER=true)")
        return self.oidc_issuer, self.oidc_client_id


def auth_settings_from_environment() -> AuthSettings:
    """``AuthSettings`` read from ``OVERSIGHT_*`` variables or ``.env`` (for ``oversight serve``)."""
    from pydantic_settings import BaseSettings, SettingsConfigDict

    class _FromEnvironment(BaseSettings):
        model_config = SettingsConfigDict(env_prefix="OVERSIGHT_", env_file=".env",
                                          extra="ignore")

    fields = {name: (info.annotation, info) for name, info in AuthSettings.model_fields.items()}
    from pydantic import create_model

    reader = create_model("AuthEnvironment", __base__=_FromEnvironment, **fields)  # type: ignore[call-overload]
    return AuthSettings(**reader().model_dump(exclude_unset=True))
