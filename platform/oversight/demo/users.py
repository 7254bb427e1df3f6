"""The demo's people. Development only: they sign in through the local development provider."""

from __future__ import annotations

import datetime as dt

from oversight.auth.identity import Principal

DEV_ISSUER = "http://127.0.0.1/oversight-dev-idp"

#: subject -> (name, roles, methods of sign-in)
DEMO_USERS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "riley": ("Riley Requester", ("requester",), ("pwd",)),
    "dana": ("Dana DBA", ("dba",), ("pwd", "mfa")),
    "dmitri": ("Dmitri DBA", ("dba",), ("pwd", "mfa")),
    "dora": ("Dora DBA", ("dba",), ("pwd", "mfa")),
    "sam": ("Sam Security", ("security",), ("pwd", "mfa")),
    "ava": ("Ava Auditor", ("auditor",), ("pwd",)),
    "tara": ("Tara Traveller", ("traveller",), ("pwd",)),
    "adam": ("Adam Admin", ("admin", "operator"), ("pwd", "mfa")),
    "rita": ("Rita Reviewer", ("reviewer",), ("pwd",)),
}


def demo_user(subject: str, *, signed_in_at: dt.datetime) -> Principal:
    """A demo person as if just signed in through the development provider."""
    name, roles, amr = DEMO_USERS[subject]
    return Principal(issuer=DEV_ISSUER, subject=subject, name=name, roles=frozenset(roles),
                     amr=frozenset(amr), acr="urn:oversight:dev:" + ("mfa" if "mfa" in amr else "pwd"),
                     auth_time=int(signed_in_at.timestamp()))
