"""The pure parts of the pages: SQL and payloads made readable, quorums and timeouts in words,
streaks, and the edit form built from a rule's JSON Schema (parsing, errors, diff)."""

from __future__ import annotations

import datetime as dt

import pytest

from oversight.approvals.exceptions import DecisionInvalid
from oversight.auth.identity import Principal
from oversight.policy.outcomes import ApproverGroup, Requirement
from oversight.ui import editform, present

NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)


def requirement(**values) -> Requirement:
    defaults = {"approvers": (ApproverGroup(role="dba", count=2),), "deadline": dt.timedelta(hours=1)}
    return Requirement(**{**defaults, **values})


def test_sql_is_one_clause_a_line_with_keywords_upper_cased():
    assert present.format_sql("delete from users where last_login < '2025-01-01' and active") == (
        "DELETE FROM users\nWHERE last_login < '2025-01-01' AND active")
    assert present.format_sql("select a, b from t join u on t.id = u.id order by a limit 5") == (
        "SELECT a, b\nFROM t\nJOIN u ON t.id = u.id\nORDER BY a\nLIMIT 5")


def test_payload_fields_fold_long_text_and_keep_short_words_plain():
    fields = {f.key: f for f in present.payload_fields({
        "query": "drop table x", "operation": "DROP", "essay": "word " * 200,
        "hotel": {"name": "Casa"}, "total": 1020, "flag": None})}
    assert [fields[k].kind for k in ("query", "operation", "essay", "hotel", "total", "flag")] == [
        "sql", "text", "long_text", "json", "scalar", "scalar"]
    assert fields["hotel"].text == '{\n  "name": "Casa"\n}'
    assert present.payload_fields(["a", 1])[0].kind == "json"


def test_times_and_deadlines_in_words():
    assert present.relative(NOW + dt.timedelta(hours=3, minutes=59, seconds=5), NOW) == "in 3 h 59 min"
    assert present.relative(NOW - dt.timedelta(minutes=2, seconds=3), NOW) == "2 min 3 s ago"
    assert present.relative(NOW + dt.timedelta(days=2, hours=1), NOW) == "in 2 days 1 h"
    html = str(present.when(dt.datetime(2026, 1, 2, 3, 4)))  # naive times are UTC
    assert 'datetime="2026-01-02T03:04:00+00:00"' in html and ">2026-01-02 03:04 UTC<" in html
    assert "overdue" in str(present.countdown(NOW - dt.timedelta(seconds=1), NOW))


def test_who_must_still_decide_counts_distinct_qualifying_approvers():
    rule = requirement(approvers=(ApproverGroup(role="dba", count=2), ApproverGroup(role="security")))
    dana = Principal(issuer="i", subject="dana", roles=frozenset({"dba"}))
    sam = Principal(issuer="i", subject="sam", roles=frozenset({"security"}))
    assert present.remaining(rule, []) == ["2 of 2 dba still needed", "1 of 1 security still needed"]
    assert present.remaining(rule, [dana, sam]) == ["1 of 2 dba still needed",
                                                    "security: complete (1 of 1)"]


def test_what_happens_at_the_deadline():
    assert present.timeout_words(requirement()) == "it is rejected (never approved by silence)"


def test_a_streak_of_approvals_warns_and_a_mixed_record_does_not():
    long = present.streak(["approve", "edit", "approve", "approve", "approve", "reject"],
                          [3.0, 4.0, 60.0, 2.0, 5.0])
    assert long is not None and (long.length, long.kind, long.warn) == (5, "approve", True)
    assert long.median_review_seconds == 4.0
    short = present.streak(["reject", "approve"], [])
    assert short is not None and not short.warn and short.length == 1
    assert present.streak([], []) is None


HOTEL_RULE = requirement(editable_fields=("hotel", "note", "nights_cap", "refundable", "tags"),
                         edit_schema={"type": "object", "properties": {
                             "hotel": {"type": "object", "properties": {
                                 "name": {"type": "string"}, "check_in": {"type": "string", "format": "date"},
                                 "room": {"enum": ["single", "double"]}}},
                             "note": {"type": "string", "maxLength": 5000},
                             "nights_cap": {"type": "integer"}, "refundable": {"type": "boolean"},
                             "tags": {"type": "array"}}})
PAYLOAD = {"hotel": {"name": "Grand", "nights": 3, "room": "single"}, "note": "x",
           "nights_cap": 4, "refundable": True, "tags": ["a"]}


def test_the_form_has_one_input_per_property_of_the_right_kind():
    inputs = {i.name: i for i in editform.inputs_for(HOTEL_RULE, PAYLOAD)}
    assert {n: i.kind for n, i in inputs.items()} == {
        "edit:hotel.name": "text", "edit:hotel.check_in": "date", "edit:hotel.room": "select",
        "edit:note": "textarea", "edit:nights_cap": "integer", "edit:refundable": "checkbox",
        "edit:tags": "json"}
    assert inputs["edit:hotel.room"].options == ("single", "double")
    assert inputs["edit:refundable"].checked and inputs["edit:hotel.check_in"].value == ""


def _form(**changes: str) -> dict[str, str]:
    form = {i.name: i.value for i in editform.inputs_for(HOTEL_RULE, PAYLOAD) if i.kind != "checkbox"}
    form["edit:refundable"] = "true"
    return {**form, **changes}


def test_only_changed_fields_are_edits_and_objects_keep_their_other_members():
    assert editform.edits_from_form(HOTEL_RULE, PAYLOAD, _form()) == {}
    edits = editform.edits_from_form(HOTEL_RULE, PAYLOAD, _form(**{
        "edit:hotel.name": "Casa do Rio", "edit:nights_cap": "5", "edit:tags": '["a", "b"]'}))
    assert edits == {"hotel": {"name": "Casa do Rio", "nights": 3, "room": "single"},
                     "nights_cap": 5, "tags": ["a", "b"]}
    unticked = {k: v for k, v in _form().items() if k != "edit:refundable"}
    assert editform.edits_from_form(HOTEL_RULE, PAYLOAD, unticked) == {"refundable": False}


@pytest.mark.parametrize(("field", "value", "pointer"), [
    ("edit:nights_cap", "five", "/edits/nights_cap"),
    ("edit:tags", "[not json", "/edits/tags"),
])
def test_a_value_of_the_wrong_type_names_its_field(field, value, pointer):
    with pytest.raises(DecisionInvalid) as refused:
        editform.edits_from_form(HOTEL_RULE, PAYLOAD, _form(**{field: value}))
    assert refused.value.extra["pointer"] == pointer


def test_the_diff_lists_each_changed_leaf():
    changes = editform.diff(PAYLOAD, {"hotel": {"name": "Casa", "nights": 3, "room": "double"},
                                      "note": "y"})
    assert [(c.path, c.old, c.new) for c in changes] == [
        ("hotel.name", '"Grand"', '"Casa"'), ("hotel.room", '"single"', '"double"'),
        ("note", '"x"', '"y"')]
