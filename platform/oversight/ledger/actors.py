"""Who caused a ledger record: a signed-in person, or a component of Oversight itself."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class UserActor:
    """A person identified by issuer and subject, with how they signed in."""

    issuer: str
    subject: str
    name: str | None = None
    roles: tuple[str, ...] = ()
    acr: str | None = None
    amr: tuple[str, ...] = ()
    auth_time: int | None = None

    @property
    def id(self) -> str:
        """Issuer and subject, the identity (never the e-mail alone)."""
        return f"{self.issuer}|{self.subject}"

    def to_record(self) -> dict[str, Any]:
        """The ``actor`` member of a ledger record."""
        return {
            "type": "user",
            "iss": self.issuer,
            "sub": self.subject,
            "name": self.name,
            "roles": sorted(self.roles),
            "acr": self.acr,
            "amr": sorted(self.amr),
            "auth_time": self.auth_time,
        }


@dataclass(frozen=True)
class SystemActor:
    """A component of Oversight acting on its own (sweeper, policy, sequencer…)."""

    component: str

    @property
    def id(self) -> str:
        """``system:<component>``."""
        return f"system:{self.component}"

    def to_record(self) -> dict[str, Any]:
        """The ``actor`` member of a ledger record."""
        return {"type": "system", "id": self.id}


Actor = UserActor | SystemActor
