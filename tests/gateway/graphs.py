"""Small graphs for the gateway tests, each showing one way of asking people."""

from __future__ import annotations

import datetime as dt
import operator
from typing import Annotated, Any, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt

from oversight.demo.graphs import chain
from oversight.gateway.request import request_approval

#: Nodes append here when they really run, so tests can count executions.
EXECUTED: list[str] = []


class AskState(TypedDict, total=False):
    action: str
    payload: Any
    decision: dict[str, Any]
    log: Annotated[list[str], operator.add]


def ask(state: AskState) -> AskState:
    decision = request_approval(action=state["action"], payload=state["payload"],
                                summary="test request")
    return {"decision": {"outcome": decision.outcome, "payload": decision.payload,
                         "approved": decision.approved, "reason": decision.reason,
                         "response": decision.response,
                         "approvers": [a["subject"] for a in decision.approvers]}}


def act(state: AskState) -> AskState:
    EXECUTED.append("act")
    return {"log": [f"acted:{state.get('decision', {}).get('outcome')}"]}


def _linear(*nodes: tuple[str, Any]) -> StateGraph[Any]:
    return chain(AskState, *nodes)


def ask_graph() -> StateGraph[Any]:
    """``ask`` (request_approval) → ``act``."""
    return _linear(("ask", ask), ("act", act))


def swallowing(state: AskState) -> AskState:
    try:
        request_approval(action=state["action"], payload=state["payload"])
    except Exception:  # the mistake: GraphInterrupt is an Exception
        return {"log": ["swallowed"]}
    return {"log": ["asked"]}


def swallow_graph() -> StateGraph[Any]:
    """A node that catches its own interrupt, then ``act``."""
    return _linear(("swallowing", swallowing), ("act", act))


def unsafe(state: AskState) -> AskState:
    request_approval(action="sql.execute",
                     payload={"query": "DELETE", "when": dt.datetime(2026, 1, 1)})
    return {}


def unsafe_graph() -> StateGraph[Any]:
    return _linear(("unsafe", unsafe), ("act", act))


def raw_node(state: AskState) -> AskState:
    answer = interrupt({"text": "Publish this paragraph?"})
    return {"decision": answer}


def raw_graph() -> StateGraph[Any]:
    """A raw ``interrupt()`` with no registered template: the default value comes back."""
    return _linear(("publish", raw_node), ("act", act))


def parallel_graph() -> StateGraph[Any]:
    """Two branches asking at once, joined by ``act``."""
    def left(state: AskState) -> AskState:
        decision = request_approval(action="sql.execute",
                                    payload={"operation": "DELETE", "query": "DELETE FROM a"})
        return {"log": [f"left:{decision.outcome}"]}

    def right(state: AskState) -> AskState:
        decision = request_approval(action="sql.execute",
                                    payload={"operation": "UPDATE", "query": "UPDATE b"})
        return {"log": [f"right:{decision.outcome}"]}

    builder: StateGraph[Any] = StateGraph(AskState)
    builder.add_node("left", left)
    builder.add_node("right", right)
    builder.add_node("act", act)
    builder.add_edge(START, "left")
    builder.add_edge(START, "right")
    builder.add_edge(["left", "right"], "act")
    builder.add_edge("act", END)
    return builder


def plain_graph() -> StateGraph[Any]:
    """No interrupt at all: ``prepare`` → ``act``; used with a static breakpoint."""
    def prepare(state: AskState) -> AskState:
        return {"log": ["prepared"]}
    return _linear(("prepare", prepare), ("act", act))


def inbox_graph() -> StateGraph[Any]:
    """An Agent Inbox ``HumanInterrupt``."""
    def inbox(state: AskState) -> AskState:
        [response] = interrupt([{
            "action_request": {"action": "send_email", "args": {"to": "ceo@acme.example",
                                                                "body": "Q3 numbers"}},
            "config": {"allow_accept": True, "allow_edit": True, "allow_respond": True,
                       "allow_ignore": True},
            "description": "Send the Q3 numbers to the CEO?",
        }])
        return {"decision": response}
    return _linear(("inbox", inbox), ("act", act))
