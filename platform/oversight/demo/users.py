"""The demo's people. Development only: they sign in through the local development provider."""

from __future__ import annotations

import datetime as dt

from oversight.auth.identity import Principal

#: The development provider's issuer when the server runs on its default address; the
#: terminal story's people come from there too, so they are the same people in the inbox.
DEV_ISSUER = "http://127.0.0.1:8000/dev-idp"

#: subject -> (name, roles, methods of an ordinary sign-in). DBAs and the security officer sign
#: in with a password and step up to MFA when a rule asks for it (the provider adds ``mfa``).
DEMO_USERS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "riley": ("Riley Requester", ("requester",), ("pwd",)),
    "dana": ("Dana DBA", ("dba",), ("pwd",)),
    "dmitri": ("Dmitri DBA", ("dba",), ("pwd",)),
    "dora": ("Dora DBA", ("dba",), ("pwd",)),
    "sam": ("Sam Security", ("security",), ("pwd",)),
    "ava": ("Ava Auditor", ("auditor",), ("pwd",)),
    "tara": ("Tara Traveller", ("traveller",), ("pwd",)),
    "adam": ("Adam Admin", ("admin", "operator"), ("pwd", "mfa")),
    "rita": ("Rita Reviewer", ("reviewer",), ("pwd",)),
}


def demo_user(subject: str, *, signed_in_at: dt.datetime, issuer: str = DEV_ISSUER,
              step_up: bool = False) -> Principal:
    """A demo person as if just signed in through the development provider (with MFA when
    ``step_up``)."""
    name, roles, methods = DEMO_USERS[subject]
    amr = frozenset(methods) | ({"mfa"} if step_up else set())
    return Principal(issuer=issuer, subject=subject, name=name, roles=frozenset(roles),
                     amr=amr, acr="urn:oversight:dev:" + ("mfa" if "mfa" in amr else "pwd"),
                     auth_time=int(signed_in_at.timestamp()))
