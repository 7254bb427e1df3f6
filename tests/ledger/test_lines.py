"""The sealed line spliced from queued canonical fields equals RFC 8785 of the whole record."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any
from unittest import mock

import pytest
import rfc8785
from hypothesis import example, given, settings
from hypothesis import strategies as st

from oversight.ledger import lines
from oversight.ledger.lines import seal_queued_fields
from oversight_audit import (
    GENESIS_PREV,
    HASH_DOMAIN,
    MalformedRecord,
    canonical_json,
    check_record_fields,
    finalize_record,
)

SAFE = 2**53 - 1
# Names that sort just before, at and after the members sealing adds (hash, prev, seq, v) and
# the ones the splice searches for, so nested members can mimic the top level.
TRICKY_NAMES = ["hash", "has", "hasi", "hash0", "ha", "h", "i", "data", "payload_digest",
                "policy", "prev", "seq", "subject", "time", "v", "actor", "action", "", "é",
                "\ue000", "😀", "Z", "a\"b", "a\\b", "thread", "approval"]
# Strings holding the text the splice searches for, escapes, controls, non-BMP characters.
TRICKY_TEXT = [',"payload_digest":', ',"subject":{', '","actor":{', ',"data":{', ',"time":"',
               '"}', "\\", '\\"', "\n\t\r\b\f", "\x00\x1f\x7f", "\u2028\u2029", "é€😀𝄞",
               "\ue000\uffff", ',"hash":"x"', "}"]

text = st.one_of(
    st.sampled_from(TRICKY_TEXT),
    st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=12),
)
names = st.one_of(st.sampled_from(TRICKY_NAMES), text)
data_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-SAFE, SAFE), text),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(names, inner, max_size=4)),
    max_leaves=10,
)
times = st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(9999, 12, 31)).map(
    lambda moment: moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
system_actors = st.builds(lambda c: {"type": "system", "id": f"system:{c}"},
                          st.from_regex(r"[a-z0-9][a-z0-9_.-]{0,12}", fullmatch=True))
user_actors = st.fixed_dictionaries({
    "type": st.just("user"), "iss": text.filter(bool), "sub": text.filter(bool),
    "name": st.none() | text, "roles": st.lists(text, max_size=3), "acr": st.none() | text,
    "amr": st.lists(text, max_size=3), "auth_time": st.none() | st.integers(0, SAFE),
})
hex64 = st.from_regex(r"[0-9a-f]{64}", fullmatch=True)
record_fields = st.fixed_dictionaries({
    "time": times,
    "actor": system_actors | user_actors,
    "action": st.from_regex(r"[a-z][a-z0-9_]{0,8}(\.[a-z][a-z0-9_]{0,8}){1,3}", fullmatch=True),
    "subject": st.dictionaries(names, st.none() | text, max_size=4),
    "payload_digest": st.none() | hex64.map(lambda h: f"hmac-sha256:{h}"),
    "policy": st.none() | text,
    "data": st.dictionaries(names, data_values, max_size=5),
})

NESTED_LOOKALIKES: dict[str, Any] = {
    "time": "2026-11-25T04:00:00.123456Z",
    "actor": {"type": "system", "id": "system:test"},
    "action": "decision.recorded",
    "subject": {"payload_digest": "hmac-sha256:" + "0" * 64, "policy": None, "subject": "x",
                "time": "2026-11-25T04:00:00.123456Z"},
    "payload_digest": None,
    "policy": ',"subject":{"a":"b"}',
    "data": {"payload_digest": None, "subject": {"thread": "t"}, "hash": "h", "data": {"v": 1},
             "time": ',"time":"2026-11-25T04:00:00.123456Z"}'},
}


def _reference(fields: dict[str, Any], seq: int, prev: str) -> tuple[str, str]:
    """Hash and line computed from scratch with the ``rfc8785`` package."""
    record = {**fields, "v": 1, "seq": seq, "prev": prev}
    record_hash = hashlib.sha256(HASH_DOMAIN + rfc8785.dumps(record)).hexdigest()
    return record_hash, rfc8785.dumps({**record, "hash": record_hash}).decode()


@settings(max_examples=500, deadline=None)
@given(record_fields, st.integers(0, SAFE), hex64)
@example(NESTED_LOOKALIKES, 0, GENESIS_PREV)
@example({**NESTED_LOOKALIKES, "data": {"😀": 1, "\ue000": 2, "hash": {"hash": "hash"}}}, SAFE,
         "f" * 64)
def test_the_splice_equals_rfc8785_of_the_whole_record(fields: dict[str, Any], seq: int,
                                                      prev: str) -> None:
    check_record_fields(fields)
    queued = canonical_json(fields).decode()
    with mock.patch.object(lines, "_seal_parsed", side_effect=AssertionError("not spliced")):
        sealed = seal_queued_fields(queued, seq=seq, prev=prev)
    assert (sealed.hash, sealed.line) == _reference(fields, seq, prev)
    record, line = finalize_record(fields, seq=seq, prev=prev)
    assert (sealed.hash, sealed.line) == (record["hash"], line.decode())
    actor = fields["actor"]
    assert sealed.time == fields["time"] and sealed.action == fields["action"]
    assert sealed.actor == (actor["id"] if actor["type"] == "system"
                            else f"{actor['iss']}|{actor['sub']}")
    assert sealed.thread_id == fields["subject"].get("thread")
    assert sealed.approval_id == fields["subject"].get("approval")


def test_text_not_in_canonical_form_is_parsed_and_sealed_canonically() -> None:
    spaced = json.dumps(NESTED_LOOKALIKES, indent=1, ensure_ascii=True)
    sealed = seal_queued_fields(spaced, seq=3, prev=GENESIS_PREV)
    assert (sealed.hash, sealed.line) == _reference(NESTED_LOOKALIKES, 3, GENESIS_PREV)
    assert sealed.thread_id is None and sealed.actor == "system:test"


@pytest.mark.parametrize(("seq", "prev", "pointer"), [
    (-1, GENESIS_PREV, "/seq"), (2**53, GENESIS_PREV, "/seq"), (True, GENESIS_PREV, "/seq"),
    (0, "F" * 64, "/prev"), (0, "0" * 63, "/prev"), (0, None, "/prev"),
])
def test_seq_and_prev_are_checked(seq: Any, prev: Any, pointer: str) -> None:
    queued = canonical_json(NESTED_LOOKALIKES).decode()
    with pytest.raises(MalformedRecord) as caught:
        seal_queued_fields(queued, seq=seq, prev=prev)
    assert caught.value.pointer == pointer
