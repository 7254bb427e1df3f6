"""`explain`: the matching rule, why earlier rules did not match, the requirements."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from oversight.policy import PolicyEvent, PolicySet
from oversight.policy.explain import describe_outcome, explain_event, render_explanation

MakeEvent = Callable[..., PolicyEvent]
MakePolicy = Callable[..., PolicySet]


def truncate_on_staging(make_event: MakeEvent) -> PolicyEvent:
    return make_event(graph="sql_agent", node="review", action="sql.execute",
                      payload={"query": "TRUNCATE TABLE orders", "database": "staging",
                               "operation": "TRUNCATE"},
                      subject="alice", roles=("requester",),
                      time=datetime(2025, 1, 6, 9, 0, tzinfo=UTC))


def test_explain_lists_each_earlier_rule_with_its_reasons(shipped: PolicySet,
                                                         make_event: MakeEvent) -> None:
    explanation = explain_event(shipped, truncate_on_staging(make_event))
    assert [(check.rule_id, check.matched) for check in explanation.checks] == [
        ("sql-destructive-production", False), ("sql-read-only", False),
        ("sql-change-data", True)]
    assert explanation.checks[0].reasons == (
        'payload.database is "staging", expected "production"',)
    assert explanation.checks[1].reasons[0] == (
        'payload.operation is "TRUNCATE", expected "SELECT"')
    # both parts of the query test fail, so both are named
    assert explanation.checks[1].reasons[1].startswith(
        'payload.query is "TRUNCATE TABLE orders", expected text matching the pattern '
        "(?is)^\\s*select\\b")
    assert explanation.outcome == shipped.evaluate(truncate_on_staging(make_event))


def test_explain_text_reads_as_sentences(shipped: PolicySet, make_event: MakeEvent) -> None:
    text = render_explanation(explain_event(shipped, truncate_on_staging(make_event)))
    lines = text.splitlines()
    assert lines[0] == ("Event: graph sql_agent, node review, action sql.execute, requested by "
                        "alice (requester) at 2025-01-06T09:00:00+00:00")
    assert lines[1] == f"Policy: {shipped.version}"
    assert "  1. sql-destructive-production (" in text
    assert "): did not match\n" in text
    assert '       - payload.database is "staging", expected "production"' in lines
    assert any(line.startswith("  3. sql-change-data (") and line.endswith("): MATCHED")
               for line in lines)
    tail = text.split("Outcome:\n", 1)[1].splitlines()
    assert tail == [
        "  A person must decide (rule sql-change-data).",
        "  Who must approve: 1 person with the role dba.",
        "  Separation of duties: the requester (alice) may not approve; each approver must be "
        "a different person.",
        "  Approvers may: approve, reject.",
        "  Deadline: 4 hours.",
        "  If nobody decides in time, the request is rejected (never approved by silence).",
        "  Notify: dba.",
    ]


def test_explain_the_strictest_rule(shipped: PolicySet, make_event: MakeEvent) -> None:
    drop = make_event(graph="sql_agent", action="sql.execute", subject="alice",
                      payload={"query": "DROP TABLE customers", "database": "production",
                               "operation": "DROP"})
    lines = describe_outcome(shipped.evaluate(drop), drop)
    assert lines == [
        "A person must decide (rule sql-destructive-production).",
        "Who must approve: 2 different people with the role dba.",
        "Separation of duties: the requester (alice) may not approve; each approver must be a "
        "different person; nobody who approved an earlier step of this thread may approve.",
        "Sign-in: approvers must have signed in with mfa (amr), at most 15 minutes before "
        "deciding.",
        "Approvers may: approve, reject.",
        "Minimum review time: 30 seconds.",
        "Deadline: 1 hour.",
        "If nobody decides in time, the request is rejected (never approved by silence).",
        "Notify: dba-oncall.",
    ]


def test_explain_escalation_traveller_and_auto_approval(shipped: PolicySet,
                                                        make_event: MakeEvent) -> None:
    other = make_event(action="restart")
    assert describe_outcome(shipped.evaluate(other), other)[-3:] == [
        "Deadline: 4 hours.",
        "If nobody decides in time, it goes to 1 person with the role admin with 4 hours "
        "more, notifying admins.",
        "If nobody decides by then, the request is rejected (never approved by silence).",
    ]
    booking = make_event(graph="travel", action="travel.book", payload={"traveller": "tom"})
    lines = describe_outcome(shipped.evaluate(booking), booking)
    assert lines[1] == 'Who must approve: "tom" (named in payload.traveller).'
    assert "Fields they may edit: hotel, flight." in lines
    assert "If nobody decides in time, the request expires." in lines
    select = make_event(graph="sql_agent", action="sql.execute",
                        payload={"query": "SELECT 1", "operation": "SELECT"})
    assert describe_outcome(shipped.evaluate(select)) == [
        "Approved automatically by rule sql-read-only: A single read-only SELECT statement "
        "changes no data."]


def test_explain_combinators_and_time(make_policy: MakePolicy, make_event: MakeEvent) -> None:
    policy = make_policy("""
- id: office
  match:
    any_of:
      - payload: {total: {gt: 1000}}
      - requester: {roles: [intern]}
    not:
      payload: {urgent: true}
    time: {timezone: Europe/Paris, weekdays: [mon-fri], hours: '09:00-18:00'}
  deny: {reason: no}
""")
    evening = make_event(payload={"total": 5, "urgent": True},
                         time=datetime(2025, 1, 11, 20, 0, tzinfo=UTC))
    reasons = explain_event(policy, evening).checks[0].reasons
    assert reasons == (
        "the time is Sat 2025-01-11 21:00 in Europe/Paris, expected on mon-fri between "
        "09:00-18:00 (Europe/Paris)",
        'none of the alternatives holds: (1) payload.total is 5, expected a number more than '
        '1000 | (2) the requester\'s roles is ["requester"], expected including "intern"',
        'the rule excludes events where payload.urgent is true, and this is one',
    )


def test_explanation_as_json(shipped: PolicySet, make_event: MakeEvent) -> None:
    document = explain_event(shipped, truncate_on_staging(make_event)).as_dict()
    assert document["rule_id"] == "sql-change-data"
    assert document["policy_version"] == shipped.version
    assert document["checks"][0]["matched"] is False
    assert document["checks"][-1] == {"rule_id": "sql-change-data",
                                      "where": document["checks"][-1]["where"],
                                      "matched": True, "reasons": []}
    assert document["summary"][1] == "Who must approve: 1 person with the role dba."
