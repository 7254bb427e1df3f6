"""One adapter per interrupt shape: an interrupt becomes approval request drafts, and the
final requests become the resume value that shape expects.

Shapes:
- ``oversight``: ``request_approval()`` (a marked dict: action, payload, summary);
- ``hitl``: LangChain ``HumanInTheLoopMiddleware`` batched ``HITLRequest`` — one request per
  action request, resumed with one ``{"decisions": [...]}`` once all are final;
- ``tool_approval``: the middleware's per-call ``ToolApprovalRequest``;
- ``agent_inbox``: a list of Agent Inbox ``HumanInterrupt`` (accept / edit / respond / ignore);
- ``breakpoint``: a static ``interrupt_before``/``interrupt_after``: no Interrupt object, the
  node about to run is the action; approving runs it, rejecting stops the thread;
- ``raw``: any other ``interrupt(value)``; action = node name; the resume value comes from
  the graph's registered template, or the documented default.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from oversight.approvals.service import RequestDraft

MARKER = "oversight/approval-request/v1"
HITL_DECISIONS = ("approve", "edit", "reject", "respond")


@dataclass(frozen=True)
class FinalPart:
    """What a final request says, as adapters need it."""

    outcome: str  # approve | edit | reject | respond
    payload: Any  # as finally approved (edited where edited)
    edits: Mapping[str, Any]
    response: str | None
    reason: str | None
    approvers: Sequence[Mapping[str, Any]]
    rule_id: str
    policy_version: str
    decided_at: str | None


def _shape_of(value: Any) -> str:
    if isinstance(value, Mapping):
        if value.get("oversight") == MARKER:
            return "oversight"
        if isinstance(value.get("action_requests"), list) and "review_configs" in value:
            return "hitl"
        if value.get("type") == "tool_approval" and "name" in value:
            return "tool_approval"
    if (isinstance(value, list) and value and all(
            isinstance(item, Mapping) and isinstance(item.get("action_request"), Mapping)
            and isinstance(item.get("config"), Mapping) for item in value)):
        return "agent_inbox"
    return "raw"


def drafts_for(interrupt_id: str, node: str, value: Any) -> list[RequestDraft]:
    """The approval requests one pending interrupt asks for."""
    shape = _shape_of(value)
    if shape == "oversight":
        return [RequestDraft(interrupt_id=interrupt_id, node=node, action=str(value["action"]),
                             shape=shape, payload=value.get("payload"),
                             summary=value.get("summary"))]
    if shape == "hitl":
        configs = {c.get("action_name"): c for c in value.get("review_configs", [])}
        requests = value["action_requests"]
        return [
            RequestDraft(
                interrupt_id=interrupt_id, node=node, action=str(req.get("name")), shape=shape,
                payload=req.get("args", {}), summary=req.get("description"), part=i,
                parts=len(requests),
                allowed=tuple(configs.get(req.get("name"), {}).get("allowed_decisions",
                                                                   HITL_DECISIONS)))
            for i, req in enumerate(requests)
        ]
    if shape == "tool_approval":
        return [RequestDraft(interrupt_id=interrupt_id, node=node, action=str(value["name"]),
                             shape=shape, payload=value.get("args", {}),
                             summary=value.get("description"))]
    if shape == "agent_inbox":
        drafts = []
        for i, item in enumerate(value):
            config = item["config"]
            allowed = tuple(decision for decision, flag in (
                ("approve", "allow_accept"), ("edit", "allow_edit"),
                ("respond", "allow_respond"), ("reject", "allow_ignore")) if config.get(flag))
            drafts.append(RequestDraft(
                interrupt_id=interrupt_id, node=node,
                action=str(item["action_request"].get("action")), shape=shape,
                payload=item["action_request"].get("args", {}),
                summary=item.get("description"), part=i, parts=len(value),
                allowed=allowed + (() if "reject" in allowed else ("reject",))))
        return drafts
    payload = value if isinstance(value, Mapping) else {"value": value}
    return [RequestDraft(interrupt_id=interrupt_id, node=node, action=node, shape="raw",
                         payload=payload)]


def breakpoint_draft(checkpoint_id: str, node: str) -> RequestDraft:
    """The request a static breakpoint before ``node`` asks for."""
    return RequestDraft(interrupt_id=breakpoint_id(checkpoint_id, node), node=node, action=node,
                        shape="breakpoint", payload={"node": node},
                        summary=f"Run the step {node!r}?", allowed=("approve", "reject"))


def breakpoint_id(checkpoint_id: str, node: str) -> str:
    """A stable id for a breakpoint: the checkpoint it stopped at and the node."""
    return f"breakpoint:{checkpoint_id}:{node}"


def default_raw_value(part: FinalPart) -> dict[str, Any]:
    """The documented resume value of a raw ``interrupt()`` with no template."""
    return {
        "outcome": part.outcome,
        "approved": part.outcome in ("approve", "edit"),
        "payload": part.payload,
        "edits": dict(part.edits),
        "response": part.response,
        "reason": part.reason,
    }


def _fill(template: Any, part: FinalPart) -> Any:
    """Replace ``$edits``, ``$payload``, ``$response``, ``$reason`` in a template."""
    if isinstance(template, str):
        return {"$edits": dict(part.edits), "$payload": part.payload, "$response": part.response,
                "$reason": part.reason}.get(template, template)
    if isinstance(template, Mapping):
        return {key: _fill(value, part) for key, value in template.items()}
    if isinstance(template, list):
        return [_fill(value, part) for value in template]
    return template


def decision_value(part: FinalPart) -> dict[str, Any]:
    """The resume value of ``request_approval()``: what ``Decision.from_resume`` reads."""
    return {"oversight": MARKER, **default_raw_value(part), "approvers": list(part.approvers),
            "rule_id": part.rule_id, "policy_version": part.policy_version,
            "decided_at": part.decided_at}


def _hitl_decision(action: str, part: FinalPart) -> dict[str, Any]:
    if part.outcome == "approve":
        return {"type": "approve"}
    if part.outcome == "edit":
        return {"type": "edit", "edited_action": {"name": action, "args": part.payload}}
    if part.outcome == "respond":
        return {"type": "respond", "message": part.response or ""}
    return {"type": "reject", "message": part.reason or "Rejected by the approver."}


def _inbox_response(action: str, part: FinalPart) -> dict[str, Any]:
    if part.outcome == "approve":
        return {"type": "accept", "args": None}
    if part.outcome == "edit":
        return {"type": "edit", "args": {"action": action, "args": part.payload}}
    if part.outcome == "respond":
        return {"type": "response", "args": part.response}
    return {"type": "ignore", "args": None}


def resume_value(shape: str, actions: Sequence[str], parts: Sequence[FinalPart],
                 template: Mapping[str, Any] | None = None) -> Any:
    """The value the interrupt's shape expects, from its final parts (in ``part`` order)."""
    if shape == "oversight":
        return decision_value(parts[0])
    if shape == "hitl":
        return {"decisions": [_hitl_decision(a, p) for a, p in zip(actions, parts, strict=True)]}
    if shape == "tool_approval":
        return _hitl_decision(actions[0], parts[0])
    if shape == "agent_inbox":
        return [_inbox_response(a, p) for a, p in zip(actions, parts, strict=True)]
    if shape == "breakpoint":
        return None
    part = parts[0]
    if template is not None and part.outcome in template:
        return _fill(template[part.outcome], part)
    return default_raw_value(part)
