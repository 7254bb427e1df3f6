"""Typed dependencies: the database session, the gateway, and who may see what."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from oversight.approvals.visibility import AUDIT_ROLES
from oversight.auth.dependencies import CurrentPrincipal
from oversight.auth.exceptions import Forbidden
from oversight.auth.identity import Principal
from oversight.config import Settings
from oversight.gateway.service import Gateway
from oversight.policy.store import PolicyStore

POLICY_ROLES = frozenset({"policy_author", "admin"})


def get_session(request: Request) -> Iterator[Session]:
    """A session for reads (on SQLite it never takes the write lock)."""
    with request.app.state.read_sessions() as session:
        yield session


def get_write_session(request: Request) -> Iterator[Session]:
    """A session whose one transaction commits when the route returns without error."""
    with request.app.state.sessions() as session, session.begin():
        yield session


def get_gateway(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_policy_store(request: Request) -> PolicyStore:
    store: PolicyStore = request.app.state.policy_store
    return store


SessionDep = Annotated[Session, Depends(get_session)]
WriteSessionDep = Annotated[Session, Depends(get_write_session)]
GatewayDep = Annotated[Gateway, Depends(get_gateway)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
PolicyStoreDep = Annotated[PolicyStore, Depends(get_policy_store)]


def require_any_role(principal: Principal, roles: frozenset[str], what: str) -> None:
    """Raise ``Forbidden`` unless the principal has one of ``roles``."""
    if not principal.roles & roles:
        raise Forbidden(f"{what} needs one of the roles {sorted(roles)}")


def _auditor(principal: CurrentPrincipal) -> Principal:
    require_any_role(principal, AUDIT_ROLES, "the audit ledger")
    return principal


def _policy_author(principal: CurrentPrincipal) -> Principal:
    require_any_role(principal, POLICY_ROLES, "policies")
    return principal


def _stopper(principal: CurrentPrincipal, settings: SettingsDep) -> Principal:
    require_any_role(principal, frozenset({"admin", *settings.stop_roles}), "the stop button")
    return principal


Auditor = Annotated[Principal, Depends(_auditor)]
PolicyAuthor = Annotated[Principal, Depends(_policy_author)]
Stopper = Annotated[Principal, Depends(_stopper)]
