"""Browser sign-in: the OpenID Connect authorization code flow with PKCE, state and nonce.

authlib's Starlette client does the protocol (authorization URL, PKCE S256, state and nonce
kept in the session, code exchange, ID token checks: signature, ``iss``, ``aud``, ``exp``,
``nonce``, ``at_hash``). Oversight feeds it the discovery document it has already checked
(the issuer must match the configuration) with the ID token algorithms narrowed to the
allow-list, and turns every failure into ``SignInFailed`` or ``ProviderUnavailable``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from authlib.integrations.starlette_client import OAuth, OAuthError
from starlette.requests import Request

from oversight.auth.claims import claim_at, principal_from_claims
from oversight.auth.discovery import DiscoveryError, ProviderKeys, ProviderMetadata, discovery_url
from oversight.auth.exceptions import ProviderUnavailable, SignInFailed
from oversight.auth.identity import Principal
from oversight.auth.settings import AuthSettings
from oversight.logs import get_logger

log = get_logger("auth")
CLIENT_NAME = "oversight"


@dataclass(frozen=True)
class SignIn:
    """A completed sign-in."""

    principal: Principal
    id_token: str | None
    next_path: str


class OidcClient:
    """The relying party: one provider, one client registration."""

    def __init__(self, auth: AuthSettings, *, keys: ProviderKeys, transport: Any | None = None) -> None:
        issuer, client_id = auth.require_provider()
        self._auth = auth
        self._keys = keys
        self._metadata: ProviderMetadata | None = None
        secret = auth.oidc_client_secret.get_secret_value() if auth.oidc_client_secret else None
        client_kwargs: dict[str, Any] = {
            "scope": auth.oidc_scopes,
            "code_challenge_method": "S256",
            "timeout": auth.http_timeout_seconds,
            "token_endpoint_auth_method": "client_secret_basic" if secret else "none",
        }
        if transport is not None:
            client_kwargs["transport"] = transport
        oauth = OAuth()
        oauth.register(CLIENT_NAME, client_id=client_id, client_secret=secret,
                       server_metadata_url=discovery_url(issuer), client_kwargs=client_kwargs)
        self._client = oauth.create_client(CLIENT_NAME)

    async def metadata(self) -> ProviderMetadata:
        """The checked discovery document, handed to authlib so it never fetches its own."""
        try:
            metadata = await self._keys.metadata()
        except DiscoveryError as exc:
            log.warning("auth.provider.unreachable", error=str(exc))
            raise ProviderUnavailable("the identity provider cannot be reached; try again "
                                      "shortly") from exc
        if metadata is not self._metadata:
            supported = metadata.raw.get("id_token_signing_alg_values_supported") or ["RS256"]
            algorithms = [alg for alg in supported if alg in self._auth.allowed_algorithms]
            document = {**metadata.raw, "id_token_signing_alg_values_supported": algorithms or
                        list(self._auth.allowed_algorithms), "_loaded_at": time.time()}
            self._client.server_metadata.clear()
            self._client.server_metadata.update(document)
            self._metadata = metadata
        return metadata

    async def authorization_url(self, request: Request, *, redirect_uri: str, next_path: str,
                                acr_values: str | None = None, max_age: int | None = None) -> str:
        """Where to send the browser; state, nonce and PKCE verifier go to the session."""
        await self.metadata()
        params: dict[str, str] = {}
        if acr_values:
            params["acr_values"] = acr_values
        if max_age is not None:
            params["max_age"] = str(max_age)
        try:
            result = await self._client.create_authorization_url(redirect_uri, **params)
        except (RuntimeError, OAuthError) as exc:
            raise ProviderUnavailable(f"the provider's metadata is unusable: {exc}") from exc
        await self._client.save_authorize_data(request, redirect_uri=redirect_uri,
                                               next=next_path, **result)
        url: str = result["url"]
        return url

    async def complete(self, request: Request) -> SignIn:
        """Finish the flow at the callback: state, code exchange, ID token, claims."""
        metadata = await self.metadata()
        state = request.query_params.get("state")
        pending = (await self._client.framework.get_state_data(request.session, state)
                   if state else None)
        if not pending:
            raise SignInFailed("this sign-in was not started here or has already been used; "
                               "start again", reason="state")
        try:
            token = await self._client.authorize_access_token(request)
        except OAuthError as exc:
            log.info("auth.signin.refused", error=exc.error)
            raise SignInFailed(f"the provider refused the sign-in ({exc.error})",
                               reason=str(exc.error or "provider")) from exc
        except Exception as exc:  # network, JOSE, claims: all end the same way, closed
            log.warning("auth.signin.failed", error=type(exc).__name__)
            raise SignInFailed("the sign-in response could not be verified",
                               reason="id-token") from exc
        claims = dict(token.get("userinfo") or {})
        if not isinstance(claims.get("sub"), str) or not claims["sub"]:
            raise SignInFailed("the provider sent no ID token with a subject", reason="id-token")
        if claim_at(claims, self._auth.roles_claim) is None and metadata.userinfo_endpoint:
            claims = await self._merge_userinfo(claims, token)
        principal = principal_from_claims(claims, issuer=metadata.issuer, auth=self._auth)
        next_path = pending.get("next")
        return SignIn(principal=principal, id_token=token.get("id_token"),
                      next_path=next_path if isinstance(next_path, str) else "/")

    async def _merge_userinfo(self, claims: dict[str, Any], token: dict[str, Any]) -> dict[str, Any]:
        # Some providers put groups only in userinfo; it must describe the same subject.
        try:
            extra = dict(await self._client.userinfo(token=token))
        except Exception as exc:  # the ID token alone still identifies the person
            log.warning("auth.userinfo.failed", error=type(exc).__name__)
            return claims
        if extra.get("sub") != claims["sub"]:
            log.warning("auth.userinfo.subject_mismatch")
            return claims
        return {**extra, **claims, self._auth.roles_claim: claim_at(extra, self._auth.roles_claim)}

    async def logout_url(self, *, post_logout_redirect_uri: str, id_token_hint: str | None) -> str | None:
        """The provider's end-session URL (RP-initiated logout), when it has one."""
        try:
            metadata = await self._keys.metadata()
        except DiscoveryError:
            return None
        if not metadata.end_session_endpoint:
            return None
        params = {"post_logout_redirect_uri": post_logout_redirect_uri,
                  "client_id": self._auth.oidc_client_id or ""}
        if id_token_hint:
            params["id_token_hint"] = id_token_hint
        separator = "&" if "?" in metadata.end_session_endpoint else "?"
        return metadata.end_session_endpoint + separator + urlencode(params)
