"""The provider's discovery document and signing keys, fetched over HTTP and cached.

The discovery document must name the configured issuer (OpenID Connect Discovery §4.3), so a
document served from elsewhere cannot redirect verification to another issuer's keys. The JWKS
is refreshed when it is older than ``JWKS_MAX_AGE`` and, at most once per
``jwks_refresh_min_seconds``, when a token names a key id it does not hold (key rotation),
so a flood of tokens with made-up key ids cannot turn into a flood of fetches.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, Key, OKPKey, RSAKey

from oversight.logs import get_logger

log = get_logger("auth")

METADATA_MAX_AGE = 3600.0
JWKS_MAX_AGE = 3600.0
MAX_DOCUMENT_BYTES = 512 * 1024

HttpClientFactory = Callable[[], httpx.AsyncClient]


class DiscoveryError(Exception):
    """The provider's metadata or keys could not be fetched or are unusable (no secret inside)."""


def http_client_factory(timeout: float, transport: httpx.AsyncBaseTransport | None = None
                        ) -> HttpClientFactory:
    """Short-lived clients with a timeout and no redirects (a redirect is a misconfiguration)."""
    def make() -> httpx.AsyncClient:
        return httpx.AsyncClient(timeout=httpx.Timeout(timeout), follow_redirects=False,
                                 transport=transport, headers={"User-Agent": "oversight-auth"})
    return make


async def fetch_json(http: HttpClientFactory, url: str) -> dict[str, Any]:
    """GET a JSON object, or raise DiscoveryError."""
    try:
        async with http() as client:
            response = await client.get(url, headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        raise DiscoveryError(f"GET {url}: {type(exc).__name__}") from exc
    if response.status_code != 200:
        raise DiscoveryError(f"GET {url}: HTTP {response.status_code}")
    if len(response.content) > MAX_DOCUMENT_BYTES:
        raise DiscoveryError(f"GET {url}: document too large")
    try:
        body = response.json()
    except ValueError as exc:
        raise DiscoveryError(f"GET {url}: not JSON") from exc
    if not isinstance(body, dict):
        raise DiscoveryError(f"GET {url}: not a JSON object")
    return body


@dataclass(frozen=True)
class ProviderMetadata:
    """The parts of the discovery document Oversight uses."""

    issuer: str
    jwks_uri: str
    authorization_endpoint: str | None
    token_endpoint: str | None
    userinfo_endpoint: str | None
    end_session_endpoint: str | None
    introspection_endpoint: str | None
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_document(cls, document: dict[str, Any], *, expected_issuer: str) -> ProviderMetadata:
        issuer = document.get("issuer")
        if not isinstance(issuer, str) or issuer.rstrip("/") != expected_issuer.rstrip("/"):
            raise DiscoveryError(f"discovery document names issuer {issuer!r}, "
                                 f"not the configured {expected_issuer!r}")
        jwks_uri = document.get("jwks_uri")
        if not isinstance(jwks_uri, str):
            raise DiscoveryError("discovery document has no jwks_uri")

        def text(name: str) -> str | None:
            value = document.get(name)
            return value if isinstance(value, str) and value else None

        return cls(issuer=issuer, jwks_uri=jwks_uri,
                   authorization_endpoint=text("authorization_endpoint"),
                   token_endpoint=text("token_endpoint"), userinfo_endpoint=text("userinfo_endpoint"),
                   end_session_endpoint=text("end_session_endpoint"),
                   introspection_endpoint=text("introspection_endpoint"), raw=document)


def discovery_url(issuer: str) -> str:
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


def import_jwks(document: dict[str, Any]) -> dict[str, list[Key]]:
    """Signing keys by key id ('' for keys without one); unusable entries are skipped."""
    keys: dict[str, list[Key]] = {}
    entries = document.get("keys")
    if not isinstance(entries, list):
        raise DiscoveryError("JWKS has no keys list")
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
            continue
        if entry.get("kty") not in ("RSA", "EC", "OKP") or "d" in entry:
            continue  # symmetric keys never verify tokens; private parts have no place here
        try:
            key: Key
            if entry["kty"] == "RSA":
                key = RSAKey.import_key(entry)
            elif entry["kty"] == "EC":
                key = ECKey.import_key(entry)
            else:
                key = OKPKey.import_key(entry)
        except (JoseError, ValueError, TypeError, KeyError):
            continue
        keys.setdefault(str(entry.get("kid") or ""), []).append(key)
    return keys


class ProviderKeys:
    """Discovery document and JWKS of one issuer, cached."""

    def __init__(self, issuer: str, *, http: HttpClientFactory, refresh_min_seconds: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.issuer = issuer
        self._http = http
        self._clock = clock
        self._refresh_min = refresh_min_seconds
        self._metadata: ProviderMetadata | None = None
        self._metadata_at = 0.0
        self._keys: dict[str, list[Key]] | None = None
        self._keys_at = 0.0
        self._forced_at: float | None = None
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary())
        self.jwks_fetches = 0

    def _lock(self) -> asyncio.Lock:
        # One lock per event loop: servers, test clients and threads may each run their own.
        loop = asyncio.get_running_loop()
        lock = self._locks.get(loop)
        if lock is None:
            lock = self._locks[loop] = asyncio.Lock()
        return lock

    async def metadata(self) -> ProviderMetadata:
        """The discovery document (cached for an hour)."""
        if self._metadata is not None and self._clock() - self._metadata_at < METADATA_MAX_AGE:
            return self._metadata
        async with self._lock():
            if self._metadata is None or self._clock() - self._metadata_at >= METADATA_MAX_AGE:
                document = await fetch_json(self._http, discovery_url(self.issuer))
                self._metadata = ProviderMetadata.from_document(document, expected_issuer=self.issuer)
                self._metadata_at = self._clock()
                log.info("auth.discovery.loaded", issuer=self._metadata.issuer)
            return self._metadata

    async def _fetch_keys(self) -> dict[str, list[Key]]:
        metadata = await self.metadata()
        keys = import_jwks(await fetch_json(self._http, metadata.jwks_uri))
        self.jwks_fetches += 1
        self._keys, self._keys_at = keys, self._clock()
        log.info("auth.jwks.loaded", issuer=metadata.issuer, keys=sum(map(len, keys.values())))
        return keys

    async def keys(self) -> dict[str, list[Key]]:
        """All signing keys, fetched when missing or stale."""
        if self._keys is not None and self._clock() - self._keys_at < JWKS_MAX_AGE:
            return self._keys
        async with self._lock():
            if self._keys is not None and self._clock() - self._keys_at < JWKS_MAX_AGE:
                return self._keys
            return await self._fetch_keys()

    async def keys_for(self, kid: str | None) -> list[Key]:
        """Candidate keys for a token's ``kid`` (all keys when it has none), refreshing once."""
        keys = await self.keys()
        found = _lookup(keys, kid)
        if found:
            return found
        async with self._lock():
            now = self._clock()
            if self._keys is not None and self._keys is not keys:  # refreshed meanwhile
                found = _lookup(self._keys, kid)
                if found:
                    return found
            if self._forced_at is not None and now - self._forced_at < self._refresh_min:
                return []
            self._forced_at = now
            log.info("auth.jwks.refresh_for_unknown_key", issuer=self.issuer)
            return _lookup(await self._fetch_keys(), kid)


def _lookup(keys: dict[str, list[Key]], kid: str | None) -> list[Key]:
    if kid is None:
        return [key for group in keys.values() for key in group]
    return list(keys.get(kid, ()))
