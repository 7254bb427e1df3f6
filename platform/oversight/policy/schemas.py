"""The policy file format, as pydantic models (strict: YAML text is never coerced).

These models give the structure and the JSON Schema (``oversight policy schema``); the
checks that need the whole set (ids, shadowing, the catch-all, separation of duties) live
in :mod:`oversight.policy.validate`. Tags starting with ``~`` name the branches of the
shorthand unions; they appear in pydantic error locations and are stripped from paths.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    JsonValue,
    SerializerFunctionWrapHandler,
    StringConstraints,
    Tag,
    WithJsonSchema,
    model_serializer,
    model_validator,
)

from oversight.policy.durations import DURATION_HINT, DURATION_PATTERN, parse_duration
from oversight.policy.outcomes import Decision, FinalTimeout
from oversight.policy.regex import compile_regex

FORMAT_VERSION: Literal[1] = 1
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
REFERENCE_HINT = ("payload.<field>, requester.subject, requester.issuer, requester.name, "
                  "graph, node or action")
_REFERENCE = re.compile(r"^(?:payload(?:\.[^.\s]+)+|requester\.(?:subject|issuer|name)"
                        r"|graph|node|action)$")
_HOURS = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")


def _duration(value: Any) -> Any:
    if isinstance(value, (bool, int, float)):
        raise ValueError(f"{value} has no unit (expected {DURATION_HINT})")
    if isinstance(value, str):
        return parse_duration(value)
    return value


def _reference(value: str) -> str:
    if not _REFERENCE.match(value):
        raise ValueError(f"{value!r} does not name a field (expected {REFERENCE_HINT})")
    return value


def _regex(value: str) -> str:
    compile_regex(value)
    return value


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not a time zone name "
                         "(expected an IANA name such as UTC or Europe/Paris)") from None
    return value


def _weekday(value: str) -> str:
    parts = value.lower().split("-")
    if not parts or len(parts) > 2 or any(part not in WEEKDAYS for part in parts):
        raise ValueError(f"{value!r} is not a weekday (expected mon, tue, wed, thu, fri, sat, "
                         "sun or a range such as mon-fri)")
    return value.lower()


def _hours(value: str) -> str:
    found = _HOURS.match(value)
    if not found or (found.group(3) == "24" and found.group(4) != "00"):
        raise ValueError(f"{value!r} is not a range of hours (expected HH:MM-HH:MM such as "
                         "09:00-18:00; 22:00-06:00 runs past midnight)")
    if value[:5] == value[6:]:
        raise ValueError(f"{value!r} starts and ends at the same time; use 00:00-24:00 for "
                         "the whole day")
    return value


def _one_or_many(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


Duration = Annotated[
    timedelta,
    BeforeValidator(_duration),
    WithJsonSchema({"type": "string", "pattern": DURATION_PATTERN,
                    "description": f"Duration: {DURATION_HINT}."}),
]
RuleId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
Reference = Annotated[str, AfterValidator(_reference)]
Regex = Annotated[str, AfterValidator(_regex)]
Scalar = str | int | float | bool | None


class Spec(BaseModel):
    """Base of the file-format models: unknown keys and coercions are errors."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def _value_branch(value: Any) -> str:
    # Called on YAML data when validating and on models when serialising.
    if isinstance(value, (dict, Operators)):
        return "~operators"
    return "~list" if isinstance(value, list) else "~scalar"


class Operators(Spec):
    """A test of one value; every operator given must hold."""

    equals: JsonValue = Field(None, description="The value is exactly this.")
    one_of: Annotated[list[JsonValue], Field(min_length=1)] | None = Field(
        None, description="The value is one of these.")
    not_: ValueTest | None = Field(None, alias="not", description="This test must not hold.")
    gt: float | None = Field(None, description="A number greater than this.")
    gte: float | None = Field(None, description="A number greater than or equal to this.")
    lt: float | None = Field(None, description="A number less than this.")
    lte: float | None = Field(None, description="A number less than or equal to this.")
    regex: Regex | None = Field(None, description="Text matching this RE2 pattern anywhere "
                                                  "(anchor with ^ and $).")
    exists: bool | None = Field(None, description="The field is present (true) or absent.")
    contains: JsonValue = Field(None, description="A list holding this item, or text holding "
                                                  "this text.")
    same_as: Reference | None = Field(None, description="Equal to another field of the event.")
    any_of: Annotated[list[ValueTest], Field(min_length=1)] | None = None
    all_of: Annotated[list[ValueTest], Field(min_length=1)] | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> Operators:
        if not self.model_fields_set:
            raise ValueError("an empty mapping tests nothing (expected an operator such as "
                             "equals, one_of, not, gt, regex, exists, contains or same_as)")
        return self

    @model_serializer(mode="wrap")
    def _only_given(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # `equals: null` and "no equals" differ; only operators the author gave are kept.
        given = {name if name != "not_" else "not" for name in self.model_fields_set}
        return {key: value for key, value in handler(self).items()
                if key in given or (key == "not_" and "not" in given)}


ValueTest = Annotated[
    Annotated[Operators, Tag("~operators")] | Annotated[list[JsonValue], Tag("~list")]
    | Annotated[Scalar, Tag("~scalar")],
    Discriminator(_value_branch),
]
Operators.model_rebuild()


class RequesterMatch(Spec):
    """Tests on who raised the request. roles: dba means "has the role dba"."""

    subject: ValueTest | None = None
    issuer: ValueTest | None = None
    name: ValueTest | None = None
    roles: ValueTest | None = Field(None, description="A role name (has it), a list (has one "
                                                      "of them) or operators on the role list.")


class TimeWindow(Spec):
    """Weekdays and hours in a named time zone; both must hold when both are given."""

    timezone: Annotated[str, AfterValidator(_timezone)] = "UTC"
    weekdays: Annotated[list[Annotated[str, AfterValidator(_weekday)]],
                        Field(min_length=1)] | None = None
    hours: Annotated[
        list[Annotated[str, AfterValidator(_hours)]],
        BeforeValidator(_one_or_many),
        Field(min_length=1),
        WithJsonSchema({"anyOf": [{"type": "string"},
                                  {"type": "array", "items": {"type": "string"}}]}),
    ] | None = None


class Match(Spec):
    """Conditions on an event; all given keys must hold. No match matches every event."""

    graph: ValueTest | None = None
    node: ValueTest | None = None
    action: ValueTest | None = None
    payload: dict[str, ValueTest] | None = Field(
        None, description="Dotted paths into the payload (hotel.city, items.0.price).")
    requester: RequesterMatch | None = None
    time: TimeWindow | None = None
    all_of: Annotated[list[Match], Field(min_length=1)] | None = None
    any_of: Annotated[list[Match], Field(min_length=1)] | None = None
    not_: Match | None = Field(None, alias="not")


class AutoApprove(Spec):
    reason: Text = Field(description="Why this is safe to approve without a person "
                                     "(recorded in the ledger).")


class Deny(Spec):
    reason: Text = Field(description="Shown to the agent.")


class ApproverGroup(Spec):
    """count distinct people with the role, and/or the person named by subject_from."""

    role: Name | None = None
    subject_from: Reference | None = Field(
        None, description="The approver must be the person named in this payload field.")
    count: Annotated[int, Field(ge=1, le=100)] = 1


class StepUp(Spec):
    """How approvers must have signed in: acr any of these, amr all of these."""

    acr: Annotated[list[Name], Field(min_length=1)] | None = None
    amr: Annotated[list[Name], Field(min_length=1)] | None = None
    max_age: Duration | None = Field(None, description="Signed in at most this long ago.")


class EscalationStep(Spec):
    approvers: Annotated[list[ApproverGroup], Field(min_length=1)]
    deadline: Duration
    notify: list[Name] = []


class Escalation(Spec):
    escalate: Annotated[list[EscalationStep], Field(min_length=1)]
    then: FinalTimeout = "reject"


def _timeout_branch(value: Any) -> str | None:
    if isinstance(value, str):
        return "~final"
    return "~escalate" if isinstance(value, (dict, Escalation)) else None


OnTimeout = Annotated[
    Annotated[FinalTimeout, Tag("~final")] | Annotated[Escalation, Tag("~escalate")],
    Discriminator(_timeout_branch, custom_error_type="on_timeout",
                  custom_error_message="expected reject, expire or a mapping with escalate"),
]


class Require(Spec):
    """A person (or several) must decide."""

    approvers: Annotated[list[ApproverGroup], Field(min_length=1)]
    exclude_earlier_approvers: bool = Field(
        False, description="Who approved an earlier step of the same thread may not approve.")
    step_up: StepUp | None = None
    decisions: Annotated[list[Decision], Field(min_length=1)] | None = Field(
        None, description="Default: approve, reject (and edit when editable is given).")
    editable: dict[str, dict[str, JsonValue]] | None = Field(
        None, description="Payload fields an approver may edit, each with its JSON Schema.")
    deadline: Duration
    on_timeout: OnTimeout = "reject"
    notify: list[Name] = []
    min_review: Duration | None = Field(
        None, description="Least time an approver must spend before deciding.")


class Rule(Spec):
    """One rule: an id, what it matches, and exactly one of auto_approve, deny, require."""

    id: RuleId
    description: Text | None = None
    replaces: RuleId | None = Field(
        None, description="Take the place of this rule from another file (e.g. a demo "
                          "variant).")
    match: Match | None = None
    auto_approve: AutoApprove | None = None
    deny: Deny | None = None
    require: Require | None = None


class PolicyFile(Spec):
    """One policy file. Files of a set are read by order, then by file name."""

    format: Literal[1] = FORMAT_VERSION
    order: int = Field(0, description="Files with a lower order come first.")
    description: Text | None = None
    rules: Annotated[list[Rule], Field(min_length=1)]


def policy_json_schema() -> dict[str, Any]:
    """The JSON Schema of a policy file, for editors (``yaml-language-server``)."""
    schema = PolicyFile.model_json_schema(by_alias=True)
    schema.pop("title", None)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://oversight.dev/schemas/policy-v1.json",
        "title": "Oversight policy file",
        **schema,
    }
