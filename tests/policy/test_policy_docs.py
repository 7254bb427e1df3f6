"""The author's guide (docs/policies.md) covers every key of the format, and its first
example is a valid set."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from oversight.policy import PolicySource, build_policy_set
from oversight.policy.schemas import (
    ApproverGroup,
    AutoApprove,
    Deny,
    Escalation,
    EscalationStep,
    Match,
    Operators,
    PolicyFile,
    RequesterMatch,
    Require,
    Rule,
    StepUp,
    TimeWindow,
)
from oversight.policy.testing import Expect

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "policies.md"
MODELS: list[type[BaseModel]] = [PolicyFile, Rule, Match, Operators, RequesterMatch,
                                 TimeWindow, AutoApprove, Deny, Require, ApproverGroup, StepUp,
                                 Escalation, EscalationStep, Expect]


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model.__name__)
def test_guide_names_every_key(model: type[BaseModel]) -> None:
    text = GUIDE.read_text()
    keys = [info.alias or name for name, info in model.model_fields.items()]
    missing = [key for key in keys if not re.search(rf"\b{re.escape(key)}\b", text)]
    assert missing == []


def test_first_example_of_the_guide_is_a_valid_set() -> None:
    blocks = re.findall(r"```yaml\n(.*?)```", GUIDE.read_text(), flags=re.DOTALL)
    policy = build_policy_set([PolicySource("guide.yaml", blocks[0])])
    assert [rule.id for rule in policy.rules] == ["sql-read-only", "default"]
