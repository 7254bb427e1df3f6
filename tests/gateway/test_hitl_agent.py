"""A real LangChain agent (``create_agent`` + ``HumanInTheLoopMiddleware``) runs through the
gateway unchanged; a deterministic chat model stands in for the LLM."""

from __future__ import annotations

from typing import Any

import pytest
from langchain.agents import create_agent
from langchain.agents.middleware import HumanInTheLoopMiddleware
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langchain_core.tools import tool

from tests.gateway.conftest import OLGA, RILEY

DELETED: list[str] = []
SENT: list[str] = []


@tool
def delete_file(path: str) -> str:
    """Delete a file."""
    DELETED.append(path)
    return f"deleted {path}"


@tool
def send_email(to: str, body: str) -> str:
    """Send an e-mail."""
    SENT.append(to)
    return f"sent to {to}"


class ScriptedModel(GenericFakeChatModel):
    """Answers from a script; tool binding is a no-op."""

    def bind_tools(self, tools: Any, **kwargs: Any) -> ScriptedModel:
        return self


def _agent(mode: str) -> Any:
    model = ScriptedModel(messages=iter([
        AIMessage(content="", tool_calls=[
            {"name": "send_email", "args": {"to": "alice@acme.example", "body": "hi"}, "id": "c1"},
            {"name": "delete_file", "args": {"path": "/srv/report.pdf"}, "id": "c2"}]),
        AIMessage(content="All done."),
    ]))
    return create_agent(model, tools=[send_email, delete_file], middleware=[
        HumanInTheLoopMiddleware(interrupt_on={"send_email": True, "delete_file": True},
                                 interrupt_mode=mode)])


@pytest.fixture(autouse=True)
def _clear():
    DELETED.clear()
    SENT.clear()


@pytest.mark.parametrize("mode", ["batched", "per_call"])
async def test_an_agent_with_hitl_middleware_runs_unchanged(gateway, mode):
    gateway.register(f"agent-{mode}", _agent(mode))
    view = await gateway.start(f"agent-{mode}", {"messages": [
        {"role": "user", "content": "Mail Alice, then delete the report."}]}, requester=RILEY)
    assert view.status == "waiting"
    by_action = {r.action: r for r in view.pending}
    if mode == "per_call":  # one interrupt per call, raised as each call starts
        assert set(by_action) <= {"send_email", "delete_file"} and len(by_action) >= 1
    else:  # one interrupt, one request per action
        assert set(by_action) == {"send_email", "delete_file"}
        assert {r.interrupt_id for r in view.pending} == {view.pending[0].interrupt_id}
        assert {r.shape for r in view.pending} == {"hitl"}
    while view.pending:
        for request in view.pending:
            if request.action == "send_email":
                await gateway.decide(request.id, principal=OLGA, decision="edit",
                                     payload_digest=request.payload_digest,
                                     edits={"to": "bob@acme.example"})
            else:
                await gateway.decide(request.id, principal=OLGA, decision="reject",
                                     payload_digest=request.payload_digest,
                                     comment="Keep the report.")
        view = await gateway.thread(view.id)
    assert view.status == "completed"
    assert SENT == ["bob@acme.example"]  # the approver's edit reached the tool call
    assert DELETED == []
    assert view.values["messages"][-1].content == "All done."
