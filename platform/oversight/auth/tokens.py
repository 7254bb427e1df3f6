"""Bearer tokens → ``Principal``: JWTs against the provider's JWKS, opaque tokens at the provider.

A JWT (three base64url segments with a JSON header) is verified locally: ``alg`` from the
allow-list (asymmetric only, so ``none`` and HS256-with-the-public-key never pass), key by
``kid`` from the JWKS of the discovery document, signature, then ``iss``, ``aud``, ``exp``,
``nbf`` and ``iat`` with a small leeway, and a non-empty ``sub``. Anything else is an opaque
token: RFC 7662 introspection when an endpoint is configured, else the userinfo endpoint;
the verdict is cached briefly under a SHA-256 of the token, never the token itself.

Every failure is a ``TokenInvalid`` (401) with a stable ``reason``; a provider that cannot be
reached fails closed the same way.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import time
import warnings
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

import httpx
from joserfc import jws
from joserfc.errors import JoseError, SecurityWarning
from joserfc.jwk import ECKey, Key, OKPKey, RSAKey

from oversight.auth.claims import principal_from_claims
from oversight.auth.discovery import DiscoveryError, HttpClientFactory, ProviderKeys
from oversight.auth.exceptions import TokenInvalid
from oversight.auth.identity import Principal
from oversight.auth.settings import AuthSettings
from oversight.logs import get_logger

log = get_logger("auth")

# "EdDSA" is the name providers publish; RFC 9864 renamed it, which joserfc warns about.
warnings.filterwarnings("ignore", message="EdDSA is deprecated", category=SecurityWarning)

MAX_TOKEN_LENGTH = 16 * 1024
MAX_CACHED_TOKENS = 10_000
_KEY_TYPES: dict[str, type[Key]] = {"RS": RSAKey, "PS": RSAKey, "ES": ECKey, "Ed": OKPKey}


def token_digest(token: str) -> str:
    """The cache key of a token: a digest, so a cache dump holds no usable token."""
    return hashlib.sha256(token.encode()).hexdigest()


def _b64_json(segment: str) -> Any:
    padded = segment + "=" * (-len(segment) % 4)
    return json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))


def jwt_header(token: str) -> dict[str, Any] | None:
    """The JOSE header when ``token`` looks like a JWS compact JWT, else None (opaque)."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        header = _b64_json(parts[0])
    except (ValueError, binascii.Error, UnicodeError):
        return None
    return header if isinstance(header, dict) and "alg" in header else None


def _numeric(claims: Mapping[str, Any], name: str, *, required: bool = False) -> float | None:
    value = claims.get(name)
    if value is None:
        if required:
            raise TokenInvalid(f"the token has no {name} claim", reason="malformed")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TokenInvalid(f"the {name} claim is not a number", reason="malformed")
    return float(value)


def check_claims(claims: Mapping[str, Any], *, issuer: str | None, audience: str | None,
                 now: float, leeway: int, require_exp: bool = True) -> None:
    """Registered claims of a verified token (``issuer``/``audience`` None: not checked)."""
    if issuer is not None and claims.get("iss") != issuer:
        raise TokenInvalid("the token was issued by another issuer", reason="issuer")
    if audience is not None:
        aud = claims.get("aud")
        audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
        if audience not in audiences:
            raise TokenInvalid("the token is meant for another audience", reason="audience")
    exp = _numeric(claims, "exp", required=require_exp)
    if exp is not None and now > exp + leeway:
        raise TokenInvalid("the token has expired", reason="expired")
    for name in ("nbf", "iat"):
        moment = _numeric(claims, name)
        if moment is not None and now + leeway < moment:
            raise TokenInvalid(f"the token is not valid yet ({name} is in the future)",
                               reason="not-yet-valid")
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise TokenInvalid("the token names no subject", reason="missing-subject")


class TokenVerifier:
    """Verifies access tokens of one issuer and returns the principal they stand for."""

    def __init__(self, auth: AuthSettings, *, keys: ProviderKeys, http: HttpClientFactory,
                 clock: Callable[[], float] = time.time) -> None:
        self._auth = auth
        self._keys = keys
        self._http = http
        self._clock = clock
        self._algorithms = frozenset(auth.allowed_algorithms)
        self._cache: OrderedDict[str, tuple[float, Principal]] = OrderedDict()
        self.provider_lookups = 0

    async def verify(self, token: str) -> Principal:
        """The principal of a bearer token, or TokenInvalid."""
        try:
            if not token or len(token) > MAX_TOKEN_LENGTH or not token.isascii():
                raise TokenInvalid("the token is empty, too long or not ASCII", reason="malformed")
            header = jwt_header(token)
            if header is not None:
                return await self._verify_jwt(token, header)
            return await self._verify_opaque(token)
        except TokenInvalid as exc:
            log.info("auth.token.refused", reason=exc.reason)
            raise

    # JWTs ------------------------------------------------------------------------------------

    async def _verify_jwt(self, token: str, header: dict[str, Any]) -> Principal:
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self._algorithms:
            raise TokenInvalid(f"algorithm {str(alg)[:20]!r} is not accepted", reason="algorithm")
        if "crit" in header or "b64" in header:
            raise TokenInvalid("critical header parameters are not accepted", reason="malformed")
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise TokenInvalid("the key id is not a string", reason="malformed")
        try:
            metadata = await self._keys.metadata()
            candidates = await self._keys.keys_for(kid)
        except DiscoveryError as exc:
            log.warning("auth.provider.unreachable", error=str(exc))
            raise TokenInvalid("the token could not be verified now", reason="unverifiable") from exc
        key_type = _KEY_TYPES[alg[:2]]
        usable = [key for key in candidates if isinstance(key, key_type)
                  and key.get("alg", alg) == alg]
        if not usable:
            raise TokenInvalid("the token was signed with a key the provider does not publish",
                               reason="unknown-key")
        try:
            signed = jws.extract_compact(token.encode("ascii"))
        except (JoseError, ValueError) as exc:
            raise TokenInvalid("the token cannot be decoded", reason="malformed") from exc
        registry = jws.JWSRegistry(algorithms=[alg], strict_check_header=False)
        if not any(_signature_valid(signed, key, registry) for key in usable):
            raise TokenInvalid("the token's signature does not verify", reason="signature")
        try:
            claims = json.loads(signed.payload)
        except ValueError as exc:
            raise TokenInvalid("the token's payload is not JSON", reason="malformed") from exc
        if not isinstance(claims, dict):
            raise TokenInvalid("the token's payload is not a JSON object", reason="malformed")
        check_claims(claims, issuer=metadata.issuer, audience=self._auth.audience,
                     now=self._clock(), leeway=self._auth.clock_leeway_seconds)
        return principal_from_claims(claims, issuer=metadata.issuer, auth=self._auth)

    # Opaque tokens ---------------------------------------------------------------------------

    async def _verify_opaque(self, token: str) -> Principal:
        digest = token_digest(token)
        now = self._clock()
        cached = self._cache.get(digest)
        if cached is not None:
            if cached[0] > now:
                return cached[1]
            del self._cache[digest]
        try:
            metadata = await self._keys.metadata()
        except DiscoveryError as exc:
            log.warning("auth.provider.unreachable", error=str(exc))
            raise TokenInvalid("the token could not be verified now", reason="unverifiable") from exc
        self.provider_lookups += 1
        if self._auth.introspection_endpoint:
            claims = await self._introspect(token, self._auth.introspection_endpoint)
            check_claims(claims, issuer=metadata.issuer if "iss" in claims else None,
                         audience=self._auth.audience if "aud" in claims else None,
                         now=now, leeway=self._auth.clock_leeway_seconds, require_exp=False)
        elif metadata.userinfo_endpoint:
            claims = await self._userinfo(token, metadata.userinfo_endpoint)
            check_claims(claims, issuer=None, audience=None, now=now,
                         leeway=self._auth.clock_leeway_seconds, require_exp=False)
        else:
            raise TokenInvalid("opaque tokens cannot be verified with this provider "
                               "(no introspection or userinfo endpoint)", reason="unverifiable")
        principal = principal_from_claims(claims, issuer=metadata.issuer, auth=self._auth)
        until = now + self._auth.token_cache_seconds
        exp = claims.get("exp")
        if isinstance(exp, int | float) and not isinstance(exp, bool):
            until = min(until, float(exp))
        if until > now:
            self._cache[digest] = (until, principal)
            while len(self._cache) > MAX_CACHED_TOKENS:
                self._cache.popitem(last=False)
        return principal

    async def _call(self, request: Callable[[httpx.AsyncClient], Any], what: str) -> dict[str, Any]:
        try:
            async with self._http() as client:
                response: httpx.Response = await request(client)
        except httpx.HTTPError as exc:
            log.warning("auth.provider.unreachable", endpoint=what, error=type(exc).__name__)
            raise TokenInvalid("the token could not be verified now", reason="unverifiable") from exc
        if response.status_code in (400, 401, 403):
            raise TokenInvalid("the provider does not accept the token", reason="inactive")
        if response.status_code != 200:
            log.warning("auth.provider.error", endpoint=what, status=response.status_code)
            raise TokenInvalid("the token could not be verified now", reason="unverifiable")
        try:
            body = response.json()
        except ValueError as exc:
            raise TokenInvalid("the provider's answer is not JSON", reason="unverifiable") from exc
        if not isinstance(body, dict):
            raise TokenInvalid("the provider's answer is not a JSON object", reason="unverifiable")
        return body

    async def _introspect(self, token: str, endpoint: str) -> dict[str, Any]:
        auth = self._auth
        client_id = auth.introspection_client_id or auth.oidc_client_id or ""
        secret = auth.introspection_client_secret or auth.oidc_client_secret
        basic = httpx.BasicAuth(client_id, secret.get_secret_value() if secret else "")
        body = await self._call(lambda client: client.post(
            endpoint, data={"token": token, "token_type_hint": "access_token"}, auth=basic,
            headers={"Accept": "application/json"}), "introspection")
        if body.get("active") is not True:
            raise TokenInvalid("the provider says the token is not active", reason="inactive")
        return body

    async def _userinfo(self, token: str, endpoint: str) -> dict[str, Any]:
        return await self._call(lambda client: client.get(
            endpoint, headers={"Authorization": f"Bearer {token}", "Accept": "application/json"}),
            "userinfo")


def _signature_valid(signed: jws.CompactSignature, key: Key, registry: jws.JWSRegistry) -> bool:
    try:
        return bool(jws.validate_compact(signed, key, registry=registry))
    except (JoseError, ValueError, TypeError):
        return False
