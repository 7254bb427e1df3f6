"""A verified identity: issuer + subject (never the e-mail alone), roles, sign-in strength."""

from __future__ import annotations

from dataclasses import dataclass

from oversight.ledger.actors import UserActor


@dataclass(frozen=True)
class Principal:
    """A person as Oversight knows them after verifying their token or session."""

    issuer: str
    subject: str
    name: str | None = None
    roles: frozenset[str] = frozenset()
    acr: str | None = None
    amr: frozenset[str] = frozenset()
    auth_time: int | None = None

    @property
    def id(self) -> str:
        """``issuer|subject``: the identity key used everywhere."""
        return f"{self.issuer}|{self.subject}"

    def same_person(self, issuer: str | None, subject: str | None) -> bool:
        """True when ``issuer``/``subject`` name this principal."""
        return issuer == self.issuer and subject == self.subject

    def to_actor(self) -> UserActor:
        """The ledger actor for records this principal causes."""
        return UserActor(issuer=self.issuer, subject=self.subject, name=self.name,
                         roles=tuple(sorted(self.roles)), acr=self.acr,
                         amr=tuple(sorted(self.amr)), auth_time=self.auth_time)
