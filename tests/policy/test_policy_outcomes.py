"""Outcomes: auto_approve, deny, and everything a `require` block can say."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

import pytest

from oversight.policy import (
    ApproverGroup,
    EscalationStep,
    PolicyEvent,
    PolicyOutcome,
    PolicySet,
    Requirement,
    StepUp,
    TimeoutPolicy,
)

MakePolicy = Callable[..., PolicySet]
MakeEvent = Callable[..., PolicyEvent]


def only_rule(make_policy: MakePolicy, body: str) -> PolicySet:
    return make_policy("- id: only\n  match: {action: act}\n" + body)


def requirement_of(policy: PolicySet, make_event: MakeEvent, **kwargs: object) -> Requirement:
    outcome = policy.evaluate(make_event(action="act", **kwargs))
    assert outcome.kind == "require"
    assert outcome.requirement is not None
    return outcome.requirement


def test_auto_approve_and_deny_carry_rule_version_and_reason(make_policy: MakePolicy,
                                                            make_event: MakeEvent) -> None:
    policy = make_policy("""
- id: ok
  match: {action: read}
  auto_approve: {reason: Reading changes nothing.}
- id: no
  match: {action: wipe}
  deny: {reason: Wiping is never allowed from an agent.}
""")
    approved = policy.evaluate(make_event(action="read"))
    assert approved == PolicyOutcome(kind="auto_approve", rule_id="ok",
                                     policy_version=policy.version,
                                     reason="Reading changes nothing.")
    denied = policy.evaluate(make_event(action="wipe"))
    assert (denied.kind, denied.rule_id, denied.reason) == (
        "deny", "no", "Wiping is never allowed from an agent.")
    assert denied.requirement is None
    assert policy.version.startswith("sha256:")
    assert len(policy.version) == 7 + 64


def test_outcomes_are_frozen(make_policy: MakePolicy, make_event: MakeEvent) -> None:
    outcome = make_policy("").evaluate(make_event())
    with pytest.raises(ValueError, match="frozen"):
        outcome.rule_id = "other"  # type: ignore[misc]


def test_full_requirement(make_policy: MakePolicy, make_event: MakeEvent) -> None:
    policy = only_rule(make_policy, """  description: Dropping needs care.
  require:
    approvers:
      - {role: dba, count: 2}
      - {role: security}
    exclude_earlier_approvers: true
    step_up: {acr: ['urn:mace:incommon:iap:silver'], amr: [mfa, hwk], max_age: 10m}
    decisions: [approve, reject, edit, respond]
    editable:
      query: {type: string, maxLength: 1000}
    deadline: P1D
    on_timeout:
      escalate:
        - approvers: [{role: admin}]
          deadline: 30m
          notify: [pager]
        - approvers: [{role: ciso}]
          deadline: PT2H
      then: expire
    notify: [dba-channel, email]
    min_review: 45s
""")
    outcome = policy.evaluate(make_event(action="act"))
    assert outcome.reason == "Dropping needs care."
    assert outcome.requirement == Requirement(
        approvers=(ApproverGroup(role="dba", count=2), ApproverGroup(role="security")),
        exclude_earlier_approvers=True,
        step_up=StepUp(acr=("urn:mace:incommon:iap:silver",), amr=("mfa", "hwk"),
                       max_age=timedelta(minutes=10)),
        decisions=("approve", "reject", "edit", "respond"),
        editable_fields=("query",),
        edit_schema={"type": "object", "additionalProperties": False,
                     "properties": {"query": {"type": "string", "maxLength": 1000}}},
        deadline=timedelta(days=1),
        on_timeout=TimeoutPolicy(
            escalate=(EscalationStep(approvers=(ApproverGroup(role="admin"),),
                                     deadline=timedelta(minutes=30), notify=("pager",)),
                      EscalationStep(approvers=(ApproverGroup(role="ciso"),),
                                     deadline=timedelta(hours=2))),
            then="expire"),
        notify=("dba-channel", "email"),
        min_review_seconds=45,
    )
    assert outcome.requirement.exclude_requester is True
    assert outcome.requirement.distinct_approvers is True


def test_requirement_defaults(make_policy: MakePolicy, make_event: MakeEvent) -> None:
    requirement = requirement_of(only_rule(make_policy, """  require:
    approvers: [{role: dba}]
    deadline: 4h
"""), make_event)
    assert requirement.decisions == ("approve", "reject")
    assert requirement.on_timeout == TimeoutPolicy(escalate=(), then="reject")
    assert requirement.step_up is None
    assert requirement.edit_schema is None
    assert requirement.min_review_seconds == 0
    assert requirement.exclude_earlier_approvers is False


def test_editable_fields_add_edit_to_the_default_decisions(make_policy: MakePolicy,
                                                          make_event: MakeEvent) -> None:
    requirement = requirement_of(only_rule(make_policy, """  require:
    approvers: [{role: reviewer}]
    editable: {text: {type: string}}
    deadline: 4h
"""), make_event)
    assert requirement.decisions == ("approve", "reject", "edit")
    assert requirement.editable_fields == ("text",)


@pytest.mark.parametrize(("text", "expected"), [
    ("30s", timedelta(seconds=30)), ("30m", timedelta(minutes=30)), ("4h", timedelta(hours=4)),
    ("2d", timedelta(days=2)), ("1w", timedelta(weeks=1)), ("1h30m", timedelta(minutes=90)),
    ("P1D", timedelta(days=1)), ("PT30M", timedelta(minutes=30)),
    ("P1DT12H", timedelta(hours=36)), ("P2W", timedelta(weeks=2)),
    ("PT0.5S", timedelta(milliseconds=500)),
])
def test_durations(make_policy: MakePolicy, make_event: MakeEvent, text: str,
                   expected: timedelta) -> None:
    requirement = requirement_of(only_rule(make_policy, f"""  require:
    approvers: [{{role: dba}}]
    deadline: {text}
"""), make_event)
    assert requirement.deadline == expected


@pytest.mark.parametrize("text", ["0m", "P", "PT", "30", "4 h", "4H", "1M", "P1Y", "-5m"])
def test_bad_durations(text: str) -> None:
    from oversight.policy.durations import parse_duration

    with pytest.raises(ValueError, match=r"duration|zero"):
        parse_duration(text)


TRAVEL = """- id: travel
  match: {action: travel.book}
  require:
    approvers: [{subject_from: payload.traveller}]
    on_timeout:
      escalate: [{approvers: [{subject_from: payload.traveller}, {role: ops}], deadline: 1h}]
    deadline: 4h
"""


def test_subject_from_names_the_approver(make_policy: MakePolicy,
                                         make_event: MakeEvent) -> None:
    policy = make_policy(TRAVEL)
    outcome = policy.evaluate(make_event(action="travel.book", subject="alice",
                                         payload={"traveller": "tom"}))
    assert outcome.kind == "require"
    assert outcome.requirement is not None
    assert outcome.requirement.approvers == (
        ApproverGroup(subject="tom", subject_from="payload.traveller"),)
    assert outcome.requirement.on_timeout.escalate[0].approvers == (
        ApproverGroup(subject="tom", subject_from="payload.traveller"),
        ApproverGroup(role="ops"))
    # the compiled outcome is a template; other events get their own traveller
    other = policy.evaluate(make_event(action="travel.book", payload={"traveller": "ann"}))
    assert other.requirement is not None
    assert other.requirement.approvers[0].subject == "ann"


@pytest.mark.parametrize(("payload", "subject", "because"), [
    ({}, "alice", "payload.traveller should name the approver, but it is missing"),
    ({"traveller": 42}, "alice", "payload.traveller should name the approver, but it is 42"),
    ({"traveller": " "}, "alice", "payload.traveller should name the approver, but it is"),
    ({"traveller": "alice"}, "alice", "payload.traveller names the requester"),
])
def test_subject_nobody_can_be_denied(make_policy: MakePolicy, make_event: MakeEvent,
                                      payload: dict[str, object], subject: str,
                                      because: str) -> None:
    outcome = make_policy(TRAVEL).evaluate(make_event(action="travel.book", subject=subject,
                                                      payload=payload))
    assert outcome.kind == "deny"
    assert outcome.rule_id == "travel"
    assert outcome.reason is not None
    assert outcome.reason.startswith("nobody can approve this request: " + because)


def test_outcome_json_for_the_ledger(shipped: PolicySet, make_event: MakeEvent) -> None:
    outcome = shipped.evaluate(make_event(
        graph="sql_agent", action="sql.execute",
        payload={"query": "DROP TABLE t", "database": "production", "operation": "DROP"}))
    document = json.loads(outcome.model_dump_json())
    assert document["kind"] == "require"
    assert document["rule_id"] == "sql-destructive-production"
    assert document["policy_version"] == shipped.version
    requirement = document["requirement"]
    assert requirement["approvers"] == [{"role": "dba", "subject": None, "subject_from": None,
                                         "count": 2}]
    assert requirement["step_up"] == {"acr": [], "amr": ["mfa"], "max_age": "PT15M"}
    assert requirement["deadline"] == "PT1H"
    assert requirement["exclude_requester"] is True
    assert PolicyOutcome.model_validate_json(outcome.model_dump_json()) == outcome


def test_index_by_action_gives_the_same_answers_as_trying_every_rule(
        shipped: PolicySet, make_event: MakeEvent) -> None:
    cases = [
        make_event(graph="sql_agent", action="sql.execute",
                   payload={"operation": "SELECT", "query": "SELECT 1"}),
        make_event(graph="sql_agent", action="sql.execute", payload={"operation": "MERGE"}),
        make_event(graph="travel", action="travel.book", payload={"traveller": "x"}),
        make_event(action="llm.output_review", payload={"text": "hi"}),
        make_event(action="unknown.action"),
    ]
    for case in cases:
        linear = next(rule for rule, matched in shipped.walk(case) if matched)
        assert shipped.first_match(case) is linear
    # only rules that may match sql.execute are tried for it
    candidates = [rule.id for rule in shipped.candidates(cases[0])]
    assert "travel-booking" not in candidates
    assert candidates[-1] == "default"
