"""``/v1/policies``: the set in force, replays of a candidate set, reloads (policy authors)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request

from oversight.api.deps import PolicyAuthor, PolicyStoreDep, SessionDep
from oversight.api.schemas import ReplayBody
from oversight.approvals.history import recorded_events
from oversight.ledger import service as ledger
from oversight.policy import PolicySource, build_policy_set
from oversight.policy.replay import replay

router = APIRouter(prefix="/v1/policies", tags=["policies"])


@router.get("")
def in_force(_: PolicyAuthor, store: PolicyStoreDep, session: SessionDep) -> dict[str, Any]:
    """The set in force: version, rules, and the history of reloads."""
    current = store.current
    history = [r["data"] for r in ledger.recorded(session, action="policy.loaded")]
    return {"version": current.version,
            "rules": [{"id": r.id, "kind": r.kind, "description": r.description, "file": r.file,
                       "line": r.line} for r in current.rules],
            "history": history}


@router.post("/replay")
def replay_candidate(body: ReplayBody, _: PolicyAuthor, store: PolicyStoreDep,
                     session: SessionDep) -> dict[str, Any]:
    """Run a candidate set over the interrupts the gateway registered; what would change."""
    candidate = build_policy_set([PolicySource(name, text) for name, text in body.sources.items()])
    report = replay(candidate, recorded_events(session, since=body.since), store.current)
    return report.as_dict()


@router.post("/reload")
async def reload(principal: PolicyAuthor, store: PolicyStoreDep, http: Request
                 ) -> dict[str, Any]:
    """Load the policy files again; a set that does not validate never goes into force."""
    event = await asyncio.to_thread(store.reload, principal.id)
    if event is None:
        return {"changed": False, "version": store.current.version}
    with http.app.state.sessions() as session, session.begin():
        ledger.append_record(session, action="policy.loaded", actor=principal.to_actor(),
                             policy=event.new_version, data=event.as_dict())
    return {"changed": True, "version": event.new_version, "event": event.as_dict()}
