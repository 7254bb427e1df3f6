"""``/v1/stops``: the stop button (Art. 14(4)(e)), for admins and the roles configured."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from oversight.api.deps import GatewayDep, SessionDep, Stopper, WriteSessionDep
from oversight.api.schemas import StopBody, StopOut
from oversight.stops import service as stops
from oversight.stops.models import Stop

router = APIRouter(prefix="/v1/stops", tags=["stops"])


def _out(stop: Stop, cancelled: int | None = None) -> StopOut:
    return StopOut(id=stop.id, scope=stop.scope, target=stop.target, reason=stop.reason,
                   created_by=stop.created_by, created_at=stop.created_at,
                   lifted_at=stop.lifted_at, cancelled=cancelled)


@router.post("", status_code=status.HTTP_201_CREATED)
def place(body: StopBody, principal: Stopper, session: WriteSessionDep,
          gateway: GatewayDep) -> StopOut:
    """Stop a thread, a graph or everything: pending requests are cancelled, nothing in scope
    starts or resumes until the stop is lifted."""
    stop, cancelled = stops.place(session, scope=body.scope, target=body.target,
                                  reason=body.reason, principal=principal, now=gateway.clock())
    return _out(stop, cancelled)


@router.get("")
def active(_: Stopper, session: SessionDep) -> list[StopOut]:
    """The active stops."""
    return [_out(s) for s in stops.active(session)]


@router.delete("/{stop_id}")
def lift(stop_id: str, principal: Stopper, session: WriteSessionDep, gateway: GatewayDep,
         reason: Annotated[str, Query(max_length=2000)] = "") -> StopOut:
    """Lift a stop (recorded)."""
    return _out(stops.lift(session, stop_id=stop_id, reason=reason, principal=principal,
                           now=gateway.clock()))
