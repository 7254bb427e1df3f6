"""Errors of authentication::

    OversightError
    └── AuthError                 (401)
        ├── NotAuthenticated      (401) no bearer token and no session
        ├── TokenInvalid          (401) a bearer token was refused; ``reason`` says why
        ├── SignInFailed          (401) the browser sign-in did not complete (state, code, ID token)
        ├── ProviderUnavailable   (503) the OpenID provider could not be reached for a sign-in
        ├── UnsafeRedirect        (400) ``next`` is not a local path
        └── Forbidden             (403) signed in, but not allowed
            └── CsrfFailed        (403) a form post without the session's CSRF token

Every error carries ``headers`` for the response (``WWW-Authenticate`` on 401s, RFC 6750).
``TokenInvalid.reason`` is one of ``TOKEN_REASONS`` and appears in the problem document.
"""

from __future__ import annotations

from typing import Any

from oversight.errors import OversightError

REALM = "oversight"

TOKEN_REASONS = frozenset({
    "malformed",        # not a JWT nor a token the provider knows; bad encoding
    "algorithm",        # alg not allowed (none, HS256, …)
    "unknown-key",      # kid not in the provider's JWKS, even after a refresh
    "signature",        # signature does not verify (tampered, wrong key)
    "issuer",
    "audience",
    "expired",
    "not-yet-valid",
    "missing-subject",
    "inactive",         # the provider says the opaque token is not active
    "unverifiable",     # the provider could not be asked; fail closed
})


class AuthError(OversightError):
    type = "auth"
    title = "Authentication error"
    status = 401

    @property
    def headers(self) -> dict[str, str]:
        """Response headers this error needs."""
        return {"WWW-Authenticate": f'Bearer realm="{REALM}"'} if self.status == 401 else {}


class NotAuthenticated(AuthError):
    type = "not-authenticated"
    title = "Sign-in required"


class TokenInvalid(AuthError):
    """A refused bearer token; ``reason`` is stable (see ``TOKEN_REASONS``)."""

    type = "token-invalid"
    title = "The access token was refused"

    def __init__(self, detail: str, *, reason: str, **extra: Any) -> None:
        if reason not in TOKEN_REASONS:
            raise ValueError(f"unknown token refusal reason {reason!r}")
        super().__init__(detail, reason=reason, **extra)
        self.reason = reason

    @property
    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate":
                f'Bearer realm="{REALM}", error="invalid_token", error_description="{self.reason}"'}


class SignInFailed(AuthError):
    type = "sign-in-failed"
    title = "Sign-in failed"

    def __init__(self, detail: str, *, reason: str, **extra: Any) -> None:
        super().__init__(detail, reason=reason, **extra)
        self.reason = reason


class ProviderUnavailable(AuthError):
    type = "provider-unavailable"
    title = "The identity provider could not be reached"
    status = 503


class UnsafeRedirect(AuthError):
    type = "unsafe-redirect"
    title = "Redirect target refused"
    status = 400


class Forbidden(AuthError):
    type = "forbidden"
    title = "Not allowed"
    status = 403


class CsrfFailed(Forbidden):
    type = "csrf-failed"
    title = "Missing or wrong CSRF token"
