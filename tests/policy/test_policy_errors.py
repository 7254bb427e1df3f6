"""Every kind of error in a policy file, with its exact file:line:column and message.

The broken files live in tests/policy/data/.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from oversight.policy import PolicyInvalid, PolicySet, PolicySourceMissing, load_policy_set
from oversight.policy.yamltext import MAX_VALUES


def problems(path: Path) -> list[str]:
    """The problems of loading ``path``, with the data folder cut from file names."""
    with pytest.raises(PolicyInvalid) as caught:
        load_policy_set([path])
    folder = str(path.parent if path.is_file() else path) + "/"
    return [str(problem).replace(folder, "") for problem in caught.value.problems]


def test_invalid_yaml_syntax(data_dir: Path) -> None:
    assert problems(data_dir / "syntax_error.yaml") == [
        "syntax_error.yaml:3:38: this is not valid YAML: did not find expected ',' or ']' "
        "(while parsing a flow sequence at line 3, column 20)"]


def test_duplicate_key(data_dir: Path) -> None:
    assert problems(data_dir / "duplicate_key.yaml") == [
        "duplicate_key.yaml:6:7: duplicate key 'deadline' (first at line 5); each key may "
        "appear once in a mapping"]


def test_unknown_keys_say_what_was_expected_and_what_was_meant(data_dir: Path) -> None:
    found = problems(data_dir / "unknown_keys.yaml")
    assert found == [
        "unknown_keys.yaml:6:21: rule 'sql-change': match.payload.operation: unknown key "
        "'oen_of'; did you mean 'one_of'? (expected one of: equals, one_of, not, gt, gte, lt, "
        "lte, regex, exists, contains, same_as, any_of, all_of)",
        "unknown_keys.yaml:8:7: rule 'sql-change': require: unknown key 'aprovers'; did you "
        "mean 'approvers'? (expected one of: approvers, exclude_earlier_approvers, step_up, "
        "decisions, editable, deadline, on_timeout, notify, min_review)",
        "unknown_keys.yaml:15:5: rule 'default': unknown key 'notfiy' (expected one of: id, "
        "description, replaces, match, auto_approve, deny, require)",
    ]


def test_wrong_types(data_dir: Path) -> None:
    assert problems(data_dir / "wrong_types.yaml") == [
        "wrong_types.yaml:5:21: rule 'typed': match.payload.total.gt: expected a number, got "
        "text \"many\"",
        # YAML 1.2: `yes` is text, not true
        "wrong_types.yaml:6:24: rule 'typed': match.payload.risk.exists: expected true or "
        "false, got text \"yes\"",
        "wrong_types.yaml:8:38: rule 'typed': require.approvers[0].count: expected a whole "
        "number, got text \"two\"",
        "wrong_types.yaml:10:34: rule 'typed': require.exclude_earlier_approvers: expected true "
        "or false, got text \"true\"",
        "wrong_types.yaml:13:18: rule 'default': require.approvers: expected a list, got a "
        "mapping",
    ]


def test_bad_durations(data_dir: Path) -> None:
    found = problems(data_dir / "bad_durations.yaml")
    assert [line.split(": ", 1)[0] for line in found] == [
        "bad_durations.yaml:5:38", "bad_durations.yaml:6:17", "bad_durations.yaml:10:17"]
    assert "'P1M' is not a duration" in found[0]
    assert "months and years are not allowed" in found[0]
    assert "require.deadline: '30 minutes' is not a duration (expected a duration such as " \
           "30s, 30m, 4h" in found[1]
    assert "require.deadline: 30 has no unit" in found[2]


def test_bad_regex_is_a_load_error_at_the_pattern(data_dir: Path) -> None:
    found = problems(data_dir / "bad_regex.yaml")
    assert found[0].startswith(
        "bad_regex.yaml:5:24: rule 'lookbehind': match.payload.query.regex: the regular "
        "expression '(?<=DROP )TABLE' is not valid for RE2: invalid perl operator")
    assert found[1].startswith(
        "bad_regex.yaml:10:24: rule 'unclosed': match.payload.query.regex: the regular "
        "expression 'DROP (TABLE' is not valid for RE2: missing )")
    assert "at character 6 of the pattern" in found[1]
    assert len(found) == 2


def test_bad_time_window(data_dir: Path) -> None:
    found = problems(data_dir / "bad_time.yaml")
    assert [line.split(": rule", 1)[0] for line in found] == [
        "bad_time.yaml:5:19", "bad_time.yaml:6:25", "bad_time.yaml:7:16"]
    assert "'Mars/Olympus_Mons' is not a time zone name" in found[0]
    assert "match.time.weekdays[1]: 'funday' is not a weekday" in found[1]
    assert "match.time.hours[0]: '9-17' is not a range of hours (expected HH:MM-HH:MM" in found[2]


def test_shadowed_rules(data_dir: Path) -> None:
    assert problems(data_dir / "shadowed.yaml") == [
        # a subset: DELETE is one of DELETE, UPDATE, TRUNCATE
        "shadowed.yaml:11:5: rule 'sql-delete-production': can never match: rule "
        "'sql-any-change' (shadowed.yaml:2) comes first and matches every event this rule "
        "matches; move this rule above it or make 'sql-any-change' narrower",
        # the same match, keys in another order
        "shadowed.yaml:20:5: rule 'sql-any-change-again': can never match: rule "
        "'sql-any-change' (shadowed.yaml:2) comes first and matches every event this rule "
        "matches; move this rule above it or make 'sql-any-change' narrower",
    ]


def test_catch_all_that_is_not_last(data_dir: Path) -> None:
    found = problems(data_dir / "catch_all_first.yaml")
    assert found[0] == (
        "catch_all_first.yaml:2:5: rule 'everything': matches every event, so the 2 rule(s) "
        "after it (sql, travel) can never match; a rule without match must be the last one")
    assert found[1].startswith("catch_all_first.yaml:11:5: rule 'travel': the policy set must "
                               "end with a rule that matches every event")


def test_missing_catch_all(data_dir: Path) -> None:
    assert problems(data_dir / "no_catch_all.yaml") == [
        "no_catch_all.yaml:7:5: rule 'travel': the policy set must end with a rule that matches "
        "every event, so that nothing falls through silently (expected a last rule without "
        "match, e.g. '- id: default' with require: {approvers: [{role: operator}], "
        "deadline: 4h})"]


def test_separation_of_duties(data_dir: Path) -> None:
    assert problems(data_dir / "separation_of_duties.yaml") == [
        "separation_of_duties.yaml:6:52: rule 'travel': asks for 2 approvers, but subject_from "
        "names one person and separation of duties needs distinct people (expected count: 1)",
        "separation_of_duties.yaml:12:26: rule 'self-approval': separation of duties: the "
        "requester never approves their own request, so subject_from cannot name the "
        "requester (expected a payload field)",
        "separation_of_duties.yaml:19:11: rule 'twice': repeats approver group #1; merge them "
        "into one group with a larger count (approvers are always distinct people)",
        "separation_of_duties.yaml:20:11: rule 'twice': an approver group needs a role "
        "(role: dba) or a person (subject_from: payload.traveller)",
    ]


def test_outcome_errors(data_dir: Path) -> None:
    assert problems(data_dir / "outcomes.yaml") == [
        "outcomes.yaml:2:5: rule 'silent': says nothing about the outcome (expected exactly one "
        "of auto_approve, deny or require)",
        "outcomes.yaml:7:5: rule 'both': has both auto_approve and deny (expected exactly one "
        "outcome per rule)",
        "outcomes.yaml:12:18: rule 'edit-without-fields': decisions include edit but no "
        "editable fields are listed (expected editable: {field: {JSON Schema}})",
        "outcomes.yaml:18:16: rule 'empty-step-up': step_up says nothing (expected acr: [...] "
        "and/or amr: [...], e.g. amr: [mfa])",
        "outcomes.yaml:19:19: rule 'empty-step-up': min_review (2 hours) is not shorter than "
        "the deadline (1 hour); nobody could decide in time",
    ]


def test_silence_never_approves(data_dir: Path) -> None:
    assert problems(data_dir / "approve_on_timeout.yaml") == [
        "approve_on_timeout.yaml:6:19: rule 'default': require.on_timeout: \"approve\" is not "
        "allowed (expected 'reject' or 'expire'); silence never approves: a request nobody "
        "answers is rejected, expires or escalates"]


def test_editable_fields(data_dir: Path) -> None:
    assert problems(data_dir / "bad_editable.yaml") == [
        "bad_editable.yaml:6:7: rule 'review': editable fields are listed but edit is not "
        "among the decisions",
        "bad_editable.yaml:7:15: rule 'review': type: 'text' is not a JSON Schema type "
        "(expected one of array, boolean, integer, null, number, object, string)",
    ]


def test_duplicate_ids_across_files(data_dir: Path) -> None:
    folder = data_dir / "duplicate_ids"
    with pytest.raises(PolicyInvalid) as caught:
        load_policy_set([folder])
    assert [str(problem) for problem in caught.value.problems] == [
        f"{folder}/z-default.yaml:2:9: rule 'sql-change': the id is already used by the rule "
        f"at {folder}/a-team.yaml:2 (ids must be unique across the set)"]


def test_replaces_an_unknown_rule(data_dir: Path) -> None:
    found = problems(data_dir / "replaces_unknown.yaml")
    assert found == ["replaces_unknown.yaml:3:15: rule 'travel-fast': replaces 'travel-bookng', "
                     "but no rule of the set has that id"]


def test_references(data_dir: Path) -> None:
    assert problems(data_dir / "bad_reference.yaml") == [
        "bad_reference.yaml:5:26: rule 'default': match.payload.owner.same_as: 'owner' does "
        "not name a field (expected payload.<field>, requester.subject, requester.issuer, "
        "requester.name, graph, node or action)"]
    assert problems(data_dir / "references.yaml") == [
        "references.yaml:5:9: rule 'odd-references': 'hotel..city' is not a payload path "
        "(expected names joined by dots, such as hotel.city)",
        "references.yaml:8:26: rule 'odd-references': subject_from: graph does not name a "
        "person (expected a payload field such as payload.traveller)",
    ]


def test_empty_file_and_wrong_top_level(data_dir: Path) -> None:
    assert problems(data_dir / "empty.yaml") == [
        "empty.yaml:1:1: expected a mapping with the keys format, order, description, rules, "
        "got an empty file"]
    assert problems(data_dir / "not_a_mapping.yaml") == [
        "not_a_mapping.yaml:1:1: expected a mapping with the keys format, order, description, "
        "rules, got a list"]


def test_yaml_tags_build_no_objects(data_dir: Path) -> None:
    found = problems(data_dir / "yaml_tags.yaml")
    assert found[0] == ("yaml_tags.yaml:3:18: YAML tag "
                        "'tag:yaml.org,2002:python/object/apply:os.system' is not supported; "
                        "write the value without a tag")


def test_alias_expansion_is_bounded(data_dir: Path) -> None:
    found = problems(data_dir / "alias_bomb.yaml")
    assert len(found) == 1
    assert f"the file expands to more than {MAX_VALUES} values" in found[0]


def test_missing_path_is_its_own_error(tmp_path: Path) -> None:
    with pytest.raises(PolicySourceMissing, match="does not exist"):
        load_policy_set([tmp_path / "nope.yaml"])
    with pytest.raises(PolicySourceMissing, match=r"holds no \.yaml policy file"):
        load_policy_set([tmp_path])


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("rules: [{id: caf\xe9}]".encode("latin-1"))
    with pytest.raises(PolicyInvalid) as caught:
        load_policy_set([path])
    assert str(caught.value.problems[0]).startswith(f"{path}:1:1: the file is not UTF-8 text")


def test_policy_invalid_is_a_422_problem_with_every_problem(data_dir: Path) -> None:
    with pytest.raises(PolicyInvalid) as caught:
        load_policy_set([data_dir / "outcomes.yaml"])
    document = caught.value.problem()
    assert document["status"] == 422
    assert document["type"] == "https://oversight.dev/problems/policy-invalid"
    assert len(document["problems"]) == 5
    assert document["problems"][0] == {
        "file": str(data_dir / "outcomes.yaml"), "line": 2, "column": 5,
        "message": "rule 'silent': says nothing about the outcome (expected exactly one of "
                   "auto_approve, deny or require)"}


def test_shadowing_never_raises_a_false_alarm(make_policy: Callable[..., PolicySet]) -> None:
    # needing dba AND security is not "needing a role of the empty set"
    policy = make_policy("""
- id: any-x
  match: {requester: {roles: [x]}}
  deny: {reason: x}
- id: dba-and-security
  match:
    requester: {roles: dba}
    all_of: [{requester: {roles: security}}]
  deny: {reason: both}
- id: one-of-two
  match: {payload: {op: [a, b]}}
  deny: {reason: a or b}
- id: a-but-via-regex
  match: {payload: {op: {regex: '^a$'}}}
  deny: {reason: regex}
""")
    assert [rule.id for rule in policy.rules][:4] == [
        "any-x", "dba-and-security", "one-of-two", "a-but-via-regex"]


def test_shadowing_through_all_of_and_roles(make_policy: Callable[..., PolicySet]) -> None:
    with pytest.raises(PolicyInvalid) as caught:
        make_policy("""
- id: dba-or-admin
  match: {requester: {roles: [dba, admin]}, action: [x, y]}
  deny: {reason: wide}
- id: dba-on-x
  match:
    all_of: [{action: x}, {graph: g}]
    requester: {roles: dba}
  deny: {reason: narrow}
""")
    assert [problem.message.split(":")[0] for problem in caught.value.problems] == [
        "rule 'dba-on-x'"]
    assert "can never match: rule 'dba-or-admin'" in caught.value.problems[0].message
