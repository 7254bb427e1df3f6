"""Policy engine: YAML rules in ``policies/``, an outcome for each interrupt.

::

    policy_set = load_policy_set(["policies"])          # raises PolicyInvalid
    outcome = policy_set.evaluate(PolicyEvent(...))     # never raises
    outcome.kind, outcome.rule_id, outcome.policy_version, outcome.requirement

Pure: no FastAPI, no database. The rule language is described in docs/policies.md.
"""

from oversight.policy.evaluate import PolicySet, PolicySource
from oversight.policy.eventfiles import RecordedEvent, read_event, read_recorded_events
from oversight.policy.exceptions import PolicyError, PolicyInvalid, PolicySourceMissing, Problem
from oversight.policy.explain import Explanation, explain_event, render_explanation
from oversight.policy.loader import build_policy_set, load_policy_set
from oversight.policy.outcomes import (
    ApproverGroup,
    Decision,
    EscalationStep,
    OutcomeKind,
    PolicyEvent,
    PolicyOutcome,
    Requester,
    Requirement,
    StepUp,
    TimeoutPolicy,
)
from oversight.policy.regex import MAX_REGEX_INPUT
from oversight.policy.replay import OutcomeChange, ReplayReport, replay
from oversight.policy.rules import PolicyRule
from oversight.policy.schemas import policy_json_schema
from oversight.policy.store import PolicyReloaded, PolicyStore
from oversight.policy.testing import PolicyTestReport, run_policy_tests

__all__ = [
    "MAX_REGEX_INPUT",
    "ApproverGroup",
    "Decision",
    "EscalationStep",
    "Explanation",
    "OutcomeChange",
    "OutcomeKind",
    "PolicyError",
    "PolicyEvent",
    "PolicyInvalid",
    "PolicyOutcome",
    "PolicyReloaded",
    "PolicyRule",
    "PolicySet",
    "PolicySource",
    "PolicySourceMissing",
    "PolicyStore",
    "PolicyTestReport",
    "Problem",
    "RecordedEvent",
    "ReplayReport",
    "Requester",
    "Requirement",
    "StepUp",
    "TimeoutPolicy",
    "build_policy_set",
    "explain_event",
    "load_policy_set",
    "policy_json_schema",
    "read_event",
    "read_recorded_events",
    "render_explanation",
    "replay",
    "run_policy_tests",
]
