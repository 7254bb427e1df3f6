"""From verified claims to a ``Principal``: the roles claim path, role mapping, sign-in strength.

Pure functions; whoever calls them has already verified where the claims come from.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from oversight.auth.identity import Principal
from oversight.auth.settings import AuthSettings

_MISSING = object()


def claim_at(claims: Mapping[str, Any], path: str) -> Any:
    """The value at ``path`` (``groups``, ``realm_access.roles``), or None.

    A claim whose whole name is ``path`` wins, so namespaced claims such as
    ``https://example.com/roles`` (Auth0) work although they contain dots.
    """
    if path in claims:
        return claims[path]
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part, _MISSING)
        if value is _MISSING:
            return None
    return value


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, list | tuple):
        return [item for item in value if isinstance(item, str) and item]
    return []


def roles_from_claims(claims: Mapping[str, Any], auth: AuthSettings) -> frozenset[str]:
    """Oversight roles: the provider's groups at ``roles_claim``, through ``role_mapping``."""
    roles: set[str] = set()
    for group in _strings(claim_at(claims, auth.roles_claim)):
        mapped = auth.role_mapping.get(group)
        if mapped is not None:
            roles.update(mapped)
        elif not auth.roles_strict:
            roles.add(group)
    return frozenset(roles)


def _auth_time(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value)
    return None


def principal_from_claims(claims: Mapping[str, Any], *, issuer: str, auth: AuthSettings) -> Principal:
    """The principal these verified claims describe (``sub`` must already be checked)."""
    name = next((claims[key] for key in ("name", "preferred_username", "email")
                 if isinstance(claims.get(key), str) and claims[key]), None)
    acr = claims.get("acr")
    return Principal(
        issuer=issuer,
        subject=str(claims["sub"]),
        name=name,
        roles=roles_from_claims(claims, auth),
        acr=acr if isinstance(acr, str) and acr else None,
        amr=frozenset(_strings(claims.get("amr"))),
        auth_time=_auth_time(claims.get("auth_time")),
    )


def principal_to_dict(principal: Principal) -> dict[str, Any]:
    """A JSON-able form, for the session store."""
    return {"iss": principal.issuer, "sub": principal.subject, "name": principal.name,
            "roles": sorted(principal.roles), "acr": principal.acr,
            "amr": sorted(principal.amr), "auth_time": principal.auth_time}


def principal_from_dict(data: Mapping[str, Any]) -> Principal:
    """Inverse of ``principal_to_dict``."""
    return Principal(issuer=data["iss"], subject=data["sub"], name=data.get("name"),
                     roles=frozenset(data.get("roles") or ()), acr=data.get("acr"),
                     amr=frozenset(data.get("amr") or ()), auth_time=data.get("auth_time"))
