"""The benchmark's generated 200-rule set stays valid, and its events evaluate."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from oversight.policy import PolicySource, build_policy_set


def benchmark_module() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "policy.py"
    spec = importlib.util.spec_from_file_location("policy_benchmark", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_set_loads_and_every_event_reaches_a_rule() -> None:
    bench = benchmark_module()
    policy = build_policy_set([PolicySource("bench.yaml", bench.policy_text(200))])
    assert len(policy.rules) == 200
    sample = bench.events(300)
    outcomes = [policy.evaluate(event) for event in sample]
    assert all(outcome.rule_id for outcome in outcomes)
    kinds = {outcome.kind for outcome in outcomes}
    assert kinds == {"auto_approve", "deny", "require"}
    # aimed events mostly stop before the catch-all
    assert sum(outcome.rule_id != "default" for outcome in outcomes) > len(sample) // 4
