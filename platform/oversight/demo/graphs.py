"""The reference scenarios' graphs, deterministic (no model is called).

- ``sql_agent``: ``generate`` → ``review`` → ``execute``. ``review`` asks for approval with
  ``request_approval`` (the policy auto-approves a read-only SELECT, so only writes stop);
  nothing runs against the (simulated) database before the decision.
- ``travel``: ``research`` → ``approval`` → ``booking``. ``approval`` is a plain
  ``interrupt(plan)`` of an existing graph that expects ``{"action": "approve"|"edit"|
  "cancel"}``; its registration maps decisions to those values, so it runs unchanged.
"""

from __future__ import annotations

import re
from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt

from oversight.gateway.request import request_approval

WRITE_OPERATIONS = ("DELETE", "UPDATE", "TRUNCATE", "DROP")


class SqlState(TypedDict, total=False):
    request: str
    database: str
    query: str
    operation: str
    approved: bool
    reason: str | None
    result: str


def _write_sql(request: str) -> str:
    text = request.lower()
    if "drop" in text:
        table = re.search(r"drop (?:the )?(\w+)", text)
        return f"DROP TABLE {table.group(1) if table else 'staging_events'}"
    if "truncate" in text:
        return "TRUNCATE TABLE sessions"
    if "delete" in text:
        return "DELETE FROM users WHERE last_login < '2025-01-01'"
    if "update" in text or "deactivate" in text:
        return "UPDATE users SET active = false WHERE last_login < '2025-01-01'"
    return "SELECT id, email FROM users WHERE active = true LIMIT 100"


def generate(state: SqlState) -> SqlState:
    """The stand-in for the LLM: turn the request into one SQL statement."""
    query = _write_sql(state["request"])
    return {"query": query, "operation": query.split()[0].upper()}


def review(state: SqlState) -> SqlState:
    """Ask for approval before the statement runs."""
    operation = state["operation"]
    decision = request_approval(
        action="sql.execute",
        payload={"query": state["query"], "database": state.get("database", "staging"),
                 "operation": operation,
                 "risk": "HIGH" if operation in ("DROP", "TRUNCATE") else
                 "MEDIUM" if operation in WRITE_OPERATIONS else "LOW"},
        summary=f"{operation} on {state.get('database', 'staging')}: {state['query']}",
    )
    query = decision.payload.get("query", state["query"]) if decision.approved else state["query"]
    return {"approved": decision.approved, "query": query, "reason": decision.reason}


def execute(state: SqlState) -> SqlState:
    """Run the statement (simulated) only if it was approved."""
    if not state.get("approved"):
        return {"result": f"not executed: {state.get('reason') or 'rejected'}"}
    return {"result": f"executed on {state.get('database', 'staging')}: {state['query']}"}


def chain(state: type[Any], *nodes: tuple[str, Any]) -> StateGraph[Any]:
    """A builder running ``nodes`` one after another."""
    builder: StateGraph[Any] = StateGraph(state)
    previous = START
    for name, function in nodes:
        builder.add_node(name, function)
        builder.add_edge(previous, name)
        previous = name
    builder.add_edge(previous, END)
    return builder


def sql_agent() -> StateGraph[Any]:
    """The SQL agent's builder (the gateway compiles it with its checkpointer)."""
    return chain(SqlState, ("generate", generate), ("review", review), ("execute", execute))


class TravelState(TypedDict, total=False):
    traveller: str
    destination: str
    plan: dict[str, Any]
    booking: str


def research(state: TravelState) -> TravelState:
    """The stand-in for the LLM: a plan for the trip."""
    city = state.get("destination", "Lisbon")
    return {"plan": {
        "traveller": state["traveller"],
        "hotel": {"name": f"Grand Hotel {city}", "nights": 3, "price_per_night": 240},
        "flight": {"number": "TP1351", "from": "BRU", "to": city[:3].upper()},
        "total": 1020,
    }}


def approval(state: TravelState) -> TravelState:
    """An existing graph's approval step: a plain interrupt with its own answer format."""
    answer = interrupt(state["plan"])
    if answer.get("action") == "edit":
        plan = {**state["plan"], **answer.get("edits", {})}
        return {"plan": plan}
    if answer.get("action") == "approve":
        return {}
    return {"plan": {}, "booking": "cancelled by the traveller"}


def booking(state: TravelState) -> TravelState:
    """Book only an approved plan."""
    if not state.get("plan"):
        return {}
    hotel = state["plan"]["hotel"]
    return {"booking": f"booked {hotel['name']} for {hotel['nights']} nights and flight "
                       f"{state['plan']['flight']['number']}"}


def travel() -> StateGraph[Any]:
    """The travel agent's builder."""
    return chain(TravelState, ("research", research), ("approval", approval),
                 ("booking", booking))


#: How ``travel``'s plain interrupt expects to be resumed, per decision.
TRAVEL_RESUME_VALUES = {"approval": {
    "approve": {"action": "approve"},
    "edit": {"action": "edit", "edits": "$edits"},
    "reject": {"action": "cancel", "reason": "$reason"},
}}


class ReplyState(TypedDict, total=False):
    customer: str
    question: str
    draft: str
    sent: str
    note: str


def draft_reply(state: ReplyState) -> ReplyState:
    """The stand-in for the LLM: a reply to the customer's question."""
    return {"draft": f"Dear {state.get('customer', 'customer')},\n\nThank you for your message "
                     f"about \"{state.get('question', 'your account')}\". We have looked into it "
                     "and refunded the full amount to your card; it should appear within five "
                     "working days.\n\nKind regards,\nThe support team"}


def review_reply(state: ReplyState) -> ReplyState:
    """A reviewer reads the model's text before it reaches the customer."""
    decision = request_approval(
        action="llm.output_review",
        payload={"customer": state.get("customer", "?"), "text": state["draft"]},
        summary=f"Reply to {state.get('customer', 'a customer')} promising a refund")
    if decision.approved:
        return {"sent": decision.payload["text"]}
    if decision.outcome == "respond":
        return {"note": decision.response or ""}
    return {"note": f"not sent: {decision.reason or 'rejected'}"}


def support_reply() -> StateGraph[Any]:
    """A support agent whose replies a reviewer approves, corrects or answers."""
    return chain(ReplyState, ("draft", draft_reply), ("review", review_reply))
