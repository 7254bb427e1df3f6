"""Records: finalize, parse, hash, payload digests; the verifier's fast path never disagrees."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oversight_audit import (
    GENESIS_PREV,
    HASH_DOMAIN,
    ChainError,
    MalformedRecord,
    Record,
    canonical_json,
    canonical_payload_digest,
    compute_record_hash,
    finalize_record,
    new_payload_key,
    payload_digest,
    verify_payload_digest,
)
from oversight_audit._internal.fastline import LineChecker
from tests.audit.factories import record_fields

FIELDS, _ = record_fields(5)  # a decision by a user, with a payload digest


def _fields(**changes: Any) -> dict[str, Any]:
    return {**FIELDS, **changes}


def _line(record: dict[str, Any]) -> bytes:
    return canonical_json(record)


def test_finalize_record_builds_the_documented_record() -> None:
    record, line = finalize_record(FIELDS, seq=5, prev="ab" * 32)
    assert set(record) == {"v", "seq", "time", "actor", "action", "subject", "payload_digest",
                           "policy", "data", "prev", "hash"}
    assert (record["v"], record["seq"], record["prev"]) == (1, 5, "ab" * 32)
    assert line == canonical_json(record) and not line.endswith(b"\n")
    body = canonical_json({k: v for k, v in record.items() if k != "hash"})
    import hashlib
    assert record["hash"] == hashlib.sha256(HASH_DOMAIN + body).hexdigest()
    assert compute_record_hash(record) == record["hash"]
    parsed = Record.from_line(line + b"\n")
    parsed.check_hash()
    assert parsed.to_dict() == record and parsed.line == line


@pytest.mark.parametrize(("changes", "pointer"), [
    ({"time": "2026-11-25 04:00:00Z"}, "/time"),
    ({"time": "2026-02-30T04:00:00.000000Z"}, "/time"),
    ({"time": "2026-11-25T24:00:00.000000Z"}, "/time"),
    ({"action": "Approved!"}, "/action"),
    ({"action": "approved"}, "/action"),
    ({"actor": {"type": "robot"}}, "/actor/type"),
    ({"actor": {"type": "system", "id": "gateway"}}, "/actor/id"),
    ({"actor": {**FIELDS["actor"], "roles": ["a", 1]}}, "/actor/roles/1"),
    ({"actor": {**FIELDS["actor"], "auth_time": 1.5}}, "/actor/auth_time"),
    ({"actor": {k: v for k, v in FIELDS["actor"].items() if k != "amr"}}, "/actor/amr"),
    ({"subject": {"thread": 7}}, "/subject/thread"),
    ({"subject": {"a/b": 7}}, "/subject/a~1b"),
    ({"payload_digest": "sha256:" + "0" * 64}, "/payload_digest"),
    ({"policy": 3}, "/policy"),
    ({"data": {"amount": 1.5}}, "/data/amount"),
    ({"data": {"n": 2**53}}, "/data/n"),
    ({"data": []}, "/data"),
    ({"data": {"deep": [[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]}}, "/data/deep"),
])
def test_finalize_record_names_the_offending_member(changes: dict[str, Any], pointer: str) -> None:
    with pytest.raises(MalformedRecord) as caught:
        finalize_record(_fields(**changes), seq=0, prev=GENESIS_PREV)
    assert caught.value.pointer.startswith(pointer)


def test_finalize_record_wants_exactly_the_seven_fields() -> None:
    with pytest.raises(MalformedRecord, match="/data: missing"):
        finalize_record({k: v for k, v in FIELDS.items() if k != "data"}, seq=0, prev=GENESIS_PREV)
    with pytest.raises(MalformedRecord, match="/extra: unexpected"):
        finalize_record(_fields(extra=1), seq=0, prev=GENESIS_PREV)
    with pytest.raises(MalformedRecord, match="/prev"):
        finalize_record(FIELDS, seq=0, prev="XYZ")
    with pytest.raises(MalformedRecord, match="/seq"):
        finalize_record(FIELDS, seq=-1, prev=GENESIS_PREV)


RECORD, LINE = finalize_record(FIELDS, seq=5, prev="ab" * 32)
_TEXT = LINE.decode()


@pytest.mark.parametrize(("line", "problem"), [
    (b"{not json", "not JSON"),
    (b"", "not JSON"),
    (LINE + b" ", "after the JSON object"),
    (b" " + LINE, "not JSON"),
    (b"[1,2]", "a JSON object"),
    (LINE.replace(b'"v":1', b'"v":2'), "unknown format version 2"),
    (LINE.replace(b'"v":1', b'"v":"1"'), "/v: expected the integer 1"),
    (LINE.replace(b'"seq":5', b'"seq":"5"'), "/seq: expected an integer"),
    (LINE.replace(b'"seq":5', b'"seq":99999999999999999999'), "/seq: integer out of range"),
    (LINE.replace(b'"seq":5', b'"seq":' + b"9" * 5000), "not usable JSON"),
    (LINE.replace(b'"seq":5', b'"seq":5.0'), "fraction or exponent"),
    (LINE.replace(b'"seq":5', b'"seq":NaN'), "NaN is not JSON"),
    (LINE.replace(b',"v":1}', b"}"), "/v: missing member"),
    (LINE.replace(b',"v":1}', b',"v":1,"w":2}'), "/w: unexpected member"),
    (LINE.replace(b'{"action"', b'{ "action"'), "canonical form"),
    (_TEXT.replace('"action":"decision.recorded","actor":{"acr"',
                   '"actor":{"acr"').replace(',"data"', ',"action":"decision.recorded","data"')
     .encode(), "canonical form"),
    (LINE.replace(b"pwd", b"\\u0070wd"), "canonical form"),
    (LINE.replace(b'"seq":5', b'"seq":5,"seq":5'), "canonical form"),
    (LINE.replace(b"Alice", b"\xff\xfe"), "not UTF-8"),
    (LINE.replace(b"Alice", b"\\ud800"), "lone surrogate"),
    (LINE.replace(b'"hash":"', b'"hash":"X')[:-1], "not JSON"),
])
def test_from_line_rejects_malformed_lines_precisely(line: bytes, problem: str) -> None:
    with pytest.raises(MalformedRecord, match=problem):
        Record.from_line(line)


def test_a_wrong_hash_parses_but_fails_the_hash_check() -> None:
    forged = json.loads(LINE)
    forged["hash"] = "0" * 64
    record = Record.from_line(_line(forged))
    with pytest.raises(ChainError) as caught:
        record.check_hash()
    assert (caught.value.seq, caught.value.check) == (5, "hash")


def test_payload_digests_are_keyed_and_compared_safely() -> None:
    key = new_payload_key()
    assert len(key) == 32 and key != new_payload_key()
    payload = {"b": [1, 2.5, "ü"], "a": None}
    digest = payload_digest(key, payload)
    assert digest.startswith("hmac-sha256:") and len(digest) == 12 + 64
    assert verify_payload_digest(digest, key, {"a": None, "b": [1, 2.5, "ü"]})
    assert not verify_payload_digest(digest, key, {"a": None, "b": [1, 2.5, "u"]})
    assert not verify_payload_digest(digest, new_payload_key(), payload)
    assert not verify_payload_digest(digest, key, float("nan"))
    assert payload_digest(key, payload) != payload_digest(new_payload_key(), payload)
    # from the canonical bytes a writer stores: the same digest, and only for those bytes
    assert canonical_payload_digest(key, canonical_json(payload)) == digest
    assert canonical_payload_digest(key, b'{"a":null,"b":[1,2.5,"u"]}') != digest
    with pytest.raises(ValueError):
        canonical_payload_digest(b"", canonical_json(payload))


# --- The bundle verifier's fast path must accept only what the reference accepts. ---

texts = st.text(alphabet=st.one_of(
    st.characters(min_codepoint=0x20, max_codepoint=0x7E),
    st.sampled_from('"\\\n\t\x01é€😀{}[],:'),
), max_size=12)
actors = st.one_of(
    st.builds(lambda c: {"type": "system", "id": f"system:{c}"},
              st.from_regex(r"[a-z0-9][a-z0-9_.-]{0,8}", fullmatch=True)),
    st.builds(lambda iss, sub, name, roles, acr, amr, at: {
        "type": "user", "iss": iss or "x", "sub": sub or "y", "name": name, "roles": roles,
        "acr": acr, "amr": amr, "auth_time": at},
        texts, texts, st.none() | texts, st.lists(texts, max_size=3), st.none() | texts,
        st.lists(texts, max_size=3), st.none() | st.integers(0, 2**40)),
)
data_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=8,
)
record_fields_st = st.fixed_dictionaries({
    "time": st.datetimes(min_value=dt.datetime(1000, 1, 1)).map(
        lambda moment: moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")),
    "actor": actors,
    "action": st.from_regex(r"[a-z][a-z0-9_]{0,6}(\.[a-z][a-z0-9_]{0,6}){1,2}", fullmatch=True),
    "subject": st.dictionaries(texts, st.none() | texts, max_size=4),
    "payload_digest": st.none() | st.from_regex(r"hmac-sha256:[0-9a-f]{64}", fullmatch=True),
    "policy": st.none() | texts,
    "data": st.dictionaries(texts, data_values, max_size=4),
})
mutations = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 10**6), st.integers(0, 255)),
    st.tuples(st.just("insert"), st.integers(0, 10**6), st.sampled_from(
        [b" ", b'"', b"\\", b",", b"}", b"{", b"0", b'"hash":"', b'},"hash":"', b"\xc3"])),
    st.tuples(st.just("delete"), st.integers(0, 10**6), st.integers(1, 80)),
)


def _mutate(line: bytes, mutation: tuple[str, int, Any]) -> bytes:
    kind, at, what = mutation
    at %= len(line)
    if kind == "flip":
        return line[:at] + bytes([what]) + line[at + 1:]
    if kind == "insert":
        return line[:at] + what + line[at:]
    return line[:at] + line[at + what:]


@settings(max_examples=300, deadline=None)
@given(record_fields_st, st.integers(0, 2**53 - 1), st.lists(mutations, max_size=2))
def test_the_fast_path_agrees_with_the_reference_parser(
    fields: dict[str, Any], seq: int, changes: list[tuple[str, int, Any]]
) -> None:
    _, line = finalize_record(fields, seq=seq, prev="cd" * 32)
    for change in changes:
        line = _mutate(line, change)
    checker = LineChecker()
    checker.fast(b'{"action":"a.b","actor":{"id":"system:x","type":"system"},"data":{}')
    fast = checker.fast(line)
    # The fast path leaves the claimed hash and prev unchecked: its caller compares them with
    # hex digests and asks the reference parser whenever they differ. So it may accept a
    # malformed line only when one of those comparisons would send the line there.
    trusted = fast is not None and fast[2] == fast[4] and re.fullmatch(rb"[0-9a-f]{64}", fast[1])
    try:
        reference = LineChecker.reference(line)
    except MalformedRecord:
        assert not trusted, f"the fast path accepted a malformed line: {line!r}"
        return
    if fast is not None:
        assert fast == reference
    if not changes:
        assert reference[0] == seq and reference[4] == reference[2]  # hash recomputes
        if line.count(b'"hash":"') == 1:  # only a "hash" key nested in data can fool a search
            assert fast == reference
