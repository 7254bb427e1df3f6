"""Policy engine benchmark: evaluations per second and load + validate time of a
200-rule set with payload matches.

Targets (issue 3): >= 20,000 evaluations/s on one core; load + validate < 200 ms.

    python3 -m uv run python benchmarks/policy.py [--rules 200] [--seconds 2] [--json]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from oversight.policy import PolicyEvent, Requester, load_policy_set
from oversight.policy.evaluate import PolicySet

ACTIONS = 40
OPERATIONS = ["SELECT", "INSERT", "UPDATE", "DELETE", "MERGE"]
REGIONS = ["eu-west", "eu-central", "us-east", "us-west", "ap-south"]


def rule_yaml(number: int) -> str:
    """One rule: graph, action and 3 payload conditions (equals, one_of, a number), with a
    regex on every third rule, a role test on every fifth and a time window on every
    seventh."""
    action = number % ACTIONS
    lines = [
        f"  - id: rule-{number:03d}",
        f"    description: Generated rule {number}",
        "    match:",
        f"      graph: graph-{number % 5}",
        f"      action: tool.{action:02d}",
        "      payload:",
        f"        region: {REGIONS[number % len(REGIONS)]}",
        f"        operation: [{OPERATIONS[number % 5]}, {OPERATIONS[(number + 2) % 5]}]",
        f"        amount: {{gt: {number * 10}}}",
    ]
    if number % 3 == 0:
        lines.append(f"        target.name: {{regex: '^(?i)table_{number}_[a-z]+$'}}")
    if number % 5 == 0:
        lines += ["      requester:", "        roles: [dba, admin]"]
    if number % 7 == 0:
        lines += ["      time:", "        timezone: Europe/Paris", "        weekdays: [mon-fri]",
                  '        hours: "08:00-20:00"']
    if number % 4 == 0:
        lines += ["    deny:", f"      reason: Rule {number} forbids this."]
    elif number % 4 == 1:
        lines += ["    auto_approve:", f"      reason: Rule {number} allows this."]
    else:
        lines += ["    require:", "      approvers:", f"        - {{role: role-{number % 9}, "
                  f"count: {1 + number % 2}}}", "      deadline: 4h",
                  "      on_timeout: reject"]
    return "\n".join(lines)


def policy_text(rules: int) -> str:
    """A policy file of ``rules`` generated rules plus a catch-all."""
    body = "\n".join(rule_yaml(number) for number in range(rules - 1))
    catch_all = ("  - id: default\n    require:\n      approvers:\n        - {role: operator}\n"
                 "      deadline: 4h\n")
    return f"format: 1\nrules:\n{body}\n{catch_all}"


def events(count: int, seed: int = 7) -> list[PolicyEvent]:
    """Events spread over every action: half built to match a chosen rule (so up to that
    rule every condition is tried), half random (mostly falling through to the catch-all,
    the slowest path for their action)."""
    chooser = random.Random(seed)
    result = []
    for index in range(count):
        number = chooser.randrange(199)
        aimed = index % 2 == 0
        result.append(PolicyEvent(
            graph=f"graph-{number % 5 if aimed else chooser.randrange(5)}",
            node="review",
            action=f"tool.{number % ACTIONS:02d}",
            payload={
                "region": REGIONS[number % 5] if aimed else chooser.choice(REGIONS),
                "operation": OPERATIONS[number % 5] if aimed else chooser.choice(OPERATIONS),
                "amount": number * 10 + 1 + chooser.randrange(100) if aimed else
                chooser.randrange(3000),
                "target": {"name": f"table_{number}_{chooser.choice(['users', 'orders'])}"},
                "query": "x" * chooser.randrange(10, 400),
            },
            requester=Requester(
                issuer="https://idp.example", subject=f"user-{number}",
                roles=frozenset(["dba", "requester"] if aimed else chooser.sample(
                    ["dba", "admin", "operator", "requester"], 2))),
            time=datetime(2025, 1, 6 + chooser.randrange(5), 9 + chooser.randrange(10),
                          tzinfo=UTC),
        ))
    return result


def evaluations_per_second(policy: PolicySet, sample: list[PolicyEvent],
                           seconds: float) -> tuple[float, dict[str, int]]:
    """Evaluate the sample round and round for ``seconds``; also count the outcomes."""
    kinds: dict[str, int] = {}
    for event in sample:
        kind = policy.evaluate(event).kind
        kinds[kind] = kinds.get(kind, 0) + 1
    evaluate = policy.evaluate
    done = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        for event in sample:
            evaluate(event)
        done += len(sample)
    return done / (time.perf_counter() - started), kinds


def linear_evaluations_per_second(policy: PolicySet, sample: list[PolicyEvent],
                                  seconds: float) -> float:
    """The same, trying every rule in order (as if no rule named its action): the worst
    case of a set whose rules the action index cannot sort out."""
    rules = policy.rules
    done = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        for event in sample:
            for rule in rules:
                if rule.condition.holds(event):
                    rule.outcome_for(event)
                    break
        done += len(sample)
    return done / (time.perf_counter() - started)


def median_ms(action: Callable[[], Any], repeat: int) -> float:
    """Median wall time of ``action`` in milliseconds."""
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args()
    text = policy_text(options.rules)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.yaml"
        path.write_text(text)
        policy = load_policy_set([path])
        load_ms = median_ms(lambda: load_policy_set([path]), repeat=7)
    sample = events(2000)
    rate, kinds = evaluations_per_second(policy, sample, options.seconds)
    linear = linear_evaluations_per_second(policy, sample, options.seconds)
    figures = {
        "rules": len(policy.rules),
        "yaml_lines": text.count("\n") + 1,
        "load_validate_ms_median": round(load_ms, 1),
        "evaluations_per_second": round(rate),
        "evaluations_per_second_every_rule_tried": round(linear),
        "outcomes_in_sample": kinds,
        "catch_all_share": round(sum(1 for event in sample
                                     if policy.evaluate(event).rule_id == "default")
                                 / len(sample), 2),
    }
    if options.json:
        print(json.dumps(figures, indent=2))
        return
    print(f"policy set: {figures['rules']} rules, {figures['yaml_lines']} lines of YAML")
    print(f"load + validate (median of 7): {figures['load_validate_ms_median']} ms "
          "(target < 200 ms)")
    print(f"evaluations: {figures['evaluations_per_second']:,}/s on one core "
          "(target >= 20,000/s)")
    print(f"  trying every rule in order (no action index): "
          f"{figures['evaluations_per_second_every_rule_tried']:,}/s")
    print(f"outcomes of the 2,000-event sample: {kinds}; "
          f"{figures['catch_all_share']:.0%} fall through to the catch-all")


if __name__ == "__main__":
    main()
