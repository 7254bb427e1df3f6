"""The demo's story: the reference scenarios through a real gateway, told on a terminal.

Who decides what is scripted; in interactive mode the person at the terminal takes each
decider's place. Reading time is simulated on the gateway's clock (the shipped DROP rule asks
for 30 s of review), so the demo does not make anyone wait.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from oversight.approvals.exceptions import DecisionRefused
from oversight.approvals.models import ApprovalRequest
from oversight.demo.users import demo_user
from oversight.gateway.registration import ThreadView
from oversight.gateway.service import Gateway


class DemoClock:
    """The real time, plus reading time the story simulates."""

    def __init__(self) -> None:
        self.offset = dt.timedelta()

    def __call__(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.offset

    def read_for(self, seconds: float) -> None:
        self.offset += dt.timedelta(seconds=seconds)


@dataclass(frozen=True)
class Step:
    """One scripted decision: who, what, and for an edit, which fields."""

    who: str
    decision: str
    edits: dict[str, Any] | None = None
    comment: str | None = None
    response: str | None = None


@dataclass(frozen=True)
class Scenario:
    title: str
    graph: str
    input: dict[str, Any]
    requester: str
    steps: list[Step] = field(default_factory=list)


SCENARIOS = [
    Scenario("A read-only SELECT passes by policy", "sql_agent",
             {"request": "list the active users", "database": "production"}, "riley"),
    Scenario("A DELETE on production waits for one DBA", "sql_agent",
             {"request": "delete the users inactive since 2025", "database": "production"},
             "riley", [Step("dana", "approve", comment="Checked the row count: 1,204.")]),
    Scenario("A DROP on production needs two DBAs with MFA; the requester may not approve",
             "sql_agent", {"request": "drop the staging_events table", "database": "production"},
             "dana", [Step("dana", "approve"), Step("sam", "approve"), Step("dmitri", "approve"),
                      Step("dora", "approve")]),
    Scenario("A trip waits for the traveller, who changes the hotel", "travel",
             {"traveller": "tara", "destination": "Lisbon"}, "riley",
             [Step("tara", "edit", edits={"hotel": {"name": "Casa do Rio", "nights": 3,
                                                    "price_per_night": 150}})]),
]

Ask = Callable[[ApprovalRequest, Step], Step]


def describe(request: ApprovalRequest) -> str:
    """A pending request for the terminal."""
    payload = json.dumps(json.loads(request.payload), indent=2, ensure_ascii=False)
    lines = [f"   pending: {request.action} (rule {request.rule_id})",
             f"   summary: {request.summary or '-'}"]
    lines += [f"     {line}" for line in payload.splitlines()]
    return "\n".join(lines)


async def run_scenario(gateway: Gateway, clock: DemoClock, scenario: Scenario, ask: Ask,
                       say: Callable[[str], None]) -> ThreadView:
    """Start the scenario's run and decide its requests until it ends."""
    signed_in = clock()
    view = await gateway.start(scenario.graph, scenario.input,
                               requester=demo_user(scenario.requester, signed_in_at=signed_in))
    steps = list(scenario.steps)
    shown: tuple[str, str] | None = None
    while view.pending and steps:
        request = view.pending[0]
        if shown != (request.id, request.payload_digest):
            say(describe(request))
            shown = (request.id, request.payload_digest)
        step = ask(request, steps.pop(0))
        person = demo_user(step.who, signed_in_at=signed_in, step_up=True)  # signed in with MFA
        await gateway.view(request.id, principal=person)
        clock.read_for(45)
        try:
            result = await gateway.decide(request.id, principal=person, decision=step.decision,
                                          payload_digest=request.payload_digest,
                                          edits=step.edits, comment=step.comment,
                                          response=step.response)
        except DecisionRefused as refused:
            say(f"   {person.name}: {step.decision} REFUSED ({refused.code}): {refused.detail}")
        else:
            state = "final" if result.became_final else "counted, more approvals needed"
            say(f"   {person.name}: {step.decision} — {state}")
        view = await gateway.thread(view.id)
    return view
