"""``request_approval()``: what a graph node calls to ask people before it acts.

```python
decision = request_approval(action="sql.execute", payload={"query": q, "risk": "HIGH"},
                            summary="Delete 1,204 inactive users")
if decision.approved:
    run(decision.payload)          # edited where an approver edited it
```

The payload is checked for JSON-safety at once, with the JSON path of the offending value.
Before interrupting, the call leaves a mark for the thread; if the node catches the
interrupt (``GraphInterrupt`` is an ``Exception``) and finishes anyway, the gateway finds the
mark, stops the run and records it.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from langgraph.config import get_config
from langgraph.errors import GraphInterrupt
from langgraph.types import interrupt

from oversight.gateway.adapters import MARKER
from oversight.gateway.payloads import check_json_safe

_lock = threading.Lock()
_raised: dict[str, Counter[str]] = {}


def _mark(thread_id: str, node: str, delta: int) -> None:
    with _lock:
        counter = _raised.setdefault(thread_id, Counter())
        counter[node] += delta
        if counter[node] <= 0:
            del counter[node]
        if not counter:
            _raised.pop(thread_id, None)


def raised_nodes(thread_id: str) -> set[str]:
    """Nodes of ``thread_id`` whose ``request_approval`` interrupted and has not surfaced."""
    with _lock:
        return set(_raised.get(thread_id, ()))


def clear_marks(thread_id: str, nodes: set[str] | None = None) -> None:
    """Forget marks (the interrupt surfaced, or the run was stopped)."""
    with _lock:
        if nodes is None:
            _raised.pop(thread_id, None)
            return
        counter = _raised.get(thread_id)
        for node in nodes:
            if counter is not None:
                counter.pop(node, None)
        if counter is not None and not counter:
            _raised.pop(thread_id, None)


@dataclass(frozen=True)
class Decision:
    """What people decided on a request: read ``approved`` first."""

    outcome: str  # approve | edit | reject | respond
    payload: Any
    edits: Mapping[str, Any] = field(default_factory=dict)
    response: str | None = None
    reason: str | None = None
    approvers: tuple[Mapping[str, Any], ...] = ()
    rule_id: str | None = None
    policy_version: str | None = None
    decided_at: str | None = None

    @property
    def approved(self) -> bool:
        """True for an approval, edited or not: go ahead with ``payload``."""
        return self.outcome in ("approve", "edit")

    @property
    def rejected(self) -> bool:
        """True when the request was rejected (by a person, a deadline or a policy)."""
        return self.outcome == "reject"

    @classmethod
    def from_resume(cls, value: Any) -> Decision:
        """Read the value the gateway resumed with."""
        if not isinstance(value, Mapping) or value.get("oversight") != MARKER:
            raise TypeError("request_approval() was resumed with a value that did not come from "
                            "Oversight; resume threads through the gateway")
        return cls(outcome=value["outcome"], payload=value.get("payload"),
                   edits=value.get("edits") or {}, response=value.get("response"),
                   reason=value.get("reason"), approvers=tuple(value.get("approvers") or ()),
                   rule_id=value.get("rule_id"), policy_version=value.get("policy_version"),
                   decided_at=value.get("decided_at"))


def request_approval(*, action: str, payload: Any, summary: str | None = None) -> Decision:
    """Pause the node until the approval policy's decision is final, then return it."""
    if not action or not isinstance(action, str):
        raise ValueError("request_approval() needs an action name such as 'sql.execute'")
    check_json_safe(payload)
    config = get_config()
    thread_id = str(config.get("configurable", {}).get("thread_id", ""))
    node = str(config.get("metadata", {}).get("langgraph_node", ""))
    _mark(thread_id, node, +1)
    try:
        value = interrupt({"oversight": MARKER, "action": action, "payload": payload,
                           "summary": summary})
    except GraphInterrupt:
        raise  # the mark stays until the gateway sees this interrupt pending
    _mark(thread_id, node, -1)
    return Decision.from_resume(value)
