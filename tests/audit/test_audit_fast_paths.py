"""The verifier's fast paths give the reference verdicts, tampered input included.

Lines checked at the seq that is due (with what the line before left in the caches),
payload files cut where the writer put the payload's canonical bytes, payload files read
with bare system calls, and the JSON encoder made once.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oversight_audit import (
    HASH_DOMAIN,
    BundleError,
    ChainError,
    MalformedRecord,
    PayloadMismatch,
    UnverifiedNote,
    canonical_json,
    finalize_record,
    payload_digest,
    verify_bundle,
    verify_payload_digest,
)
from oversight_audit._internal.canonical import _ENCODER, encode_fast
from oversight_audit._internal.fastline import LineChecker, LineFacts
from oversight_audit._internal.payloads import (
    BATCH,
    canonical_payload,
    digest_matches,
    parse_payload,
    read_payload,
)
from oversight_audit._internal.wire import b64
from tests.audit.bundles import failed_at, failure
from tests.audit.factories import Ledger, build_ledger, payload_key, record_fields, signer

# --- Lines at the seq that is due -----------------------------------------------------------

texts = st.text(alphabet=st.one_of(
    st.characters(min_codepoint=0x20, max_codepoint=0x7E),
    st.sampled_from('"\\\n\x01é€😀{}[],:'),
), max_size=10)
# Few policies and minutes, so that lines in a row share them (the caches' hits) or not.
policies = st.sampled_from([None, "sha256:" + "ab" * 32, "v2", 'say "hi" \\ bye', "é", ""])
times = st.builds(
    lambda minute, second, micro: f"{minute}:{second:02d}.{micro:06d}Z",
    st.sampled_from(["2026-11-25T04:00", "2026-11-25T04:01", "1999-12-31T23:59",
                     "2024-02-29T12:30"]),
    st.integers(0, 59), st.integers(0, 999_999),
)
line_fields = st.fixed_dictionaries({
    "time": times,
    "actor": st.sampled_from([{"type": "system", "id": "system:gateway"},
                              record_fields(4)[0]["actor"], record_fields(5)[0]["actor"]]),
    "action": st.sampled_from(["run.started", "decision.recorded", "a.b_c.d"]),
    "subject": st.dictionaries(texts, st.none() | texts, max_size=3),
    "payload_digest": st.none() | st.sampled_from(["hmac-sha256:" + "0f" * 32,
                                                   "hmac-sha256:" + "9" * 64]),
    "policy": policies,
    "data": st.sampled_from([{}, {"outcome": "approved"}, {"n": [1, None, True]}]),
})
#: Small changes in the places the fast path compares in place: (first occurrence, by).
REPLACEMENTS = [
    (b'"v":1}', b'"v":2}'), (b'"v":1}', b'"v":1 }'), (b'Z","v"', b'z","v"'),
    (b'.', b':'), (b':', b'.'), (b'T', b't'), (b'","prev":"', b'","prev": "'),
    (b',"policy":null', b""), (b',"policy":null', b"\x00"), (b',"policy":"', b',"policy":'),
    (b'"seq":', b'"seq":-'), (b'"seq":', b'"seq":0'), (b'"subject":{', b'"subject":['),
    (b'","seq":', b'","seq" :'), (b'"payload_digest":null', b'"payload_digest":nul'),
    (b':59.', b':61.'), (b'-11-', b'-13-'), (b'"hmac-sha256:0f', b'"hmac-sha256:0F'),
    (b',"time":"', b',"tame":"'), (b'"time":"', b'"time": "'), (b'T04:59', b'T04:5'),
    (b',"policy":null,"prev":"', b"\x00"), (b',"time":"2026-11-25T04:59', b"\x00" * 25),
]
mutations = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 10**6), st.integers(0, 255)),
    st.tuples(st.just("insert"), st.integers(0, 10**6), st.sampled_from(
        [b" ", b'"', b"\\", b",", b"}", b"0", b"1", b"9", b":", b'"seq":', b'","prev":"',
         b',"policy":null', b"\xc3"])),
    st.tuples(st.just("delete"), st.integers(0, 10**6), st.integers(1, 40)),
    st.tuples(st.just("digits"), st.integers(0, 10**6), st.sampled_from([b"60", b"13", b"32"])),
    st.tuples(st.just("replace"), st.integers(0, 10**6), st.sampled_from(REPLACEMENTS)),
)


def _mutate(line: bytes, mutation: tuple[str, int, Any]) -> bytes:
    kind, at, what = mutation
    at %= len(line)
    if kind == "flip":
        return line[:at] + bytes([what]) + line[at + 1:]
    if kind == "insert":
        return line[:at] + what + line[at:]
    if kind == "digits":  # a plausible change: two digits overwritten
        return line[:at] + what + line[at + len(what):]
    if kind == "replace":  # a targeted change, at the first occurrence
        return line.replace(what[0], what[1], 1)
    return line[:at] + line[at + what:]


def _rehash(line: bytes) -> bytes:
    """The line with its ``hash`` recomputed from the bytes around it, as a forger would.

    A changed line otherwise fails on its hash, which hides whether the fast path accepted
    what it should have refused.
    """
    at = line.find(b'},"hash":"') + 1
    if not at or len(line) < at + 74:
        return line
    digest = hashlib.sha256(HASH_DOMAIN + line[:at] + line[at + 74:]).hexdigest().encode()
    return line[: at + 9] + digest + line[at + 73:]


def _trusted(facts: LineFacts | None) -> bool:
    """Whether the verifier would take these facts without asking the reference parser.

    The fast path leaves the claimed hash and prev unchecked: the verifier compares them
    with hex digests and asks the reference parser whenever they differ.
    """
    return (facts is not None and facts[2] == facts[4]
            and re.fullmatch(rb"[0-9a-f]{64}", facts[1]) is not None)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(line_fields, st.integers(0, 2**53 - 1), st.integers(-2, 2),
                          st.lists(mutations, max_size=2), st.booleans()),
                min_size=1, max_size=8))
def test_a_line_at_its_due_seq_gets_the_reference_verdict(
    steps: list[tuple[dict[str, Any], int, int, list[tuple[str, int, Any]], bool]],
) -> None:
    checker = LineChecker()  # one checker for the whole run: its caches carry over
    for fields, seq, offset, changes, forge in steps:
        _, line = finalize_record(fields, seq=seq, prev="cd" * 32)
        for change in changes:
            line = _mutate(line, change)
        if forge:
            line = _rehash(line)
        due = max(seq + offset, 0)
        fast = checker.fast_at(line, due)
        try:
            reference = LineChecker.reference(line)
        except MalformedRecord:
            assert not _trusted(fast), f"the fast path accepted a malformed line: {line!r}"
            continue
        if fast is not None:
            assert fast == reference and reference[0] == due
        elif not changes and offset == 0 and line.count(b'"hash":"') == 1:
            raise AssertionError(f"the fast path refused a plain line: {line!r}")


def _base_lines() -> list[bytes]:
    """Lines of every shape: with and without a digest, a policy, a user actor."""
    lines = []
    for seq, policy in [(0, None), (1, "sha256:" + "ab" * 32), (5, 'say "hi"'), (8, "v2")]:
        fields = {**record_fields(seq)[0], "policy": policy,
                  "time": "2026-11-25T04:59:59.123456Z"}
        lines.append(finalize_record(fields, seq=seq + 40, prev="cd" * 32)[1])
    return lines


@pytest.mark.parametrize("change", REPLACEMENTS, ids=[repr(r[1]) for r in REPLACEMENTS])
def test_each_targeted_change_gets_the_reference_verdict(change: tuple[bytes, bytes]) -> None:
    for forge, primed in [(False, False), (False, True), (True, False), (True, True)]:
        checker = LineChecker()
        for line in _base_lines():
            seq = LineChecker.reference(line)[0]
            if primed:  # the same line, unchanged, leaves its policy and minute in the caches
                assert checker.fast_at(line, seq) is not None
            else:
                checker = LineChecker()
            changed = line.replace(*change, 1)
            if forge:
                changed = _rehash(changed)
            fast = checker.fast_at(changed, seq)
            try:
                reference = LineChecker.reference(changed)
            except MalformedRecord:
                assert not _trusted(fast), changed
                continue
            assert fast is None or fast == reference


def test_a_line_holding_another_seq_is_left_to_the_reference_parser() -> None:
    checker = LineChecker()
    _, line = finalize_record(record_fields(5)[0], seq=123, prev="cd" * 32)
    assert checker.fast_at(line, 123) == LineChecker.reference(line)
    for due in (12, 1230, 122, 124, -1, 2**53):
        assert checker.fast_at(line, due) is None
    padded = line.replace(b'"seq":123', b'"seq":0123')
    assert checker.fast_at(padded, 123) is None and checker.fast(padded) is None


@pytest.mark.parametrize("seq", [2**53 - 1, 2**53, 10**17])
def test_a_seq_beyond_the_safe_integers_is_refused(seq: int) -> None:
    _, line = finalize_record(record_fields(5)[0], seq=2**53 - 1, prev="cd" * 32)
    line = _rehash(line.replace(b'"seq":%d' % (2**53 - 1), b'"seq":%d' % seq))
    if seq == 2**53 - 1:
        assert LineChecker().fast_at(line, seq) == LineChecker.reference(line)
        return
    assert LineChecker().fast_at(line, seq) is None and LineChecker().fast(line) is None
    with pytest.raises(MalformedRecord):
        LineChecker.reference(line)


@pytest.mark.parametrize("text", ["2026-02-30T04:00:00.000000Z", "2026-11-25T24:00:00.000000Z",
                                  "2026-11-25T04:60:00.000000Z", "2026-11-25T04:00:60.000000Z",
                                  "2026-11-25T04:00:0a.000000Z", "2026-11-25 04:00:00.000000Z"])
def test_an_impossible_time_is_refused_even_after_a_good_one(text: str) -> None:
    checker = LineChecker()
    fields = {**record_fields(5)[0], "time": "2026-11-25T04:00:00.000000Z"}
    _, good = finalize_record(fields, seq=7, prev="cd" * 32)
    assert checker.fast_at(good, 7) is not None
    bad = good.replace(b"2026-11-25T04:00:00.000000Z", text.encode())
    assert checker.fast_at(bad, 7) is None
    with pytest.raises(MalformedRecord):
        LineChecker.reference(bad)


# --- Bundles whose lines change policy and minute -------------------------------------------

def _varied_ledger(count: int) -> Ledger:
    """Records whose policy changes every few records and whose minute changes often."""
    ledger = Ledger(signers=[signer()])
    choices = [None, "sha256:" + "12" * 32, "v2", 'quoted "v3"']
    for seq in range(count):
        fields, payload = record_fields(seq)
        fields["policy"] = choices[(seq // 3) % len(choices)]
        fields["time"] = f"2026-11-25T04:{(seq * 17) % 60:02d}:{seq % 60:02d}.000001Z"
        ledger.append(fields, payload)
        if (seq + 1) % 4 == 0 or seq + 1 == count:
            ledger.checkpoint()
    return ledger


def test_a_bundle_of_changing_policies_and_minutes_verifies_and_locates_tampering(
    tmp_path: Path,
) -> None:
    ledger = _varied_ledger(30)
    path = ledger.write_bundle(tmp_path / "bundle")
    report = verify_bundle(path)
    assert (report.record_count, report.payloads_verified) == (30, len(ledger.payloads))
    records = (path / "records.jsonl").read_bytes().splitlines()
    for seq, change in [(7, (b'"policy":"v2"', b'"policy":"v9"')),
                        (12, (b'"policy":null', b'"policy":"v2"')),
                        (17, (b'"time":"2026-11-25T04:49', b'"time":"2026-11-25T04:48'))]:
        assert change[0] in records[seq], (seq, records[seq])
        tampered = [*records]
        tampered[seq] = records[seq].replace(*change)
        (path / "records.jsonl").write_bytes(b"".join(line + b"\n" for line in tampered))
        error = failed_at(path, seq)
        assert isinstance(error, ChainError) and error.check == "hash"


# --- Payload files ---------------------------------------------------------------------------

payload_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**60), 2**60) | texts
    | st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from([1.0, -0.0, 1e21]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=10,
)
file_mutations = st.one_of(
    mutations,
    st.tuples(st.just("insert"), st.integers(0, 10**6), st.sampled_from(
        [b"\n", b' "seq":', b'"payload":', b'{"key":"', b',"seq":1}\n', b"=", b"A"])),
)


def _slow_verdict(data: bytes, seq: int, digest: bytes) -> bool | str:
    """What the reference path says: the digest matches, or the BundleError's message."""
    try:
        key, payload = parse_payload(data, seq, f"payloads/{seq}.json")
    except BundleError as exc:
        return str(exc)
    return verify_payload_digest(digest.decode(), key, payload)


@settings(max_examples=400, deadline=None)
@given(payload_values, st.binary(min_size=1, max_size=80), st.integers(0, 2**40),
       st.integers(-1, 1), st.lists(file_mutations, max_size=2), st.booleans())
def test_a_payload_file_gets_the_reference_verdict(
    payload: Any, key: bytes, seq: int, offset: int,
    changes: list[tuple[str, int, Any]], other_key: bool,
) -> None:
    try:
        data = canonical_json({"seq": seq, "key": b64(key), "payload": payload}) + b"\n"
        digest = payload_digest(b"another key" if other_key else key, payload).encode()
    except ValueError:  # RFC 8785 cannot write it: the exporter would not have either
        return
    # A float such as 2.0**53 is written as an integer that RFC 8785 then refuses: such a
    # payload fails on both paths, even in the writer's own file.
    plain = not changes and offset == 0 and _round_trips(payload)
    for change in changes:
        data = _mutate(data, change)
    due = max(seq + offset, 0)
    found = canonical_payload(data, due)
    slow = _slow_verdict(data, due, digest)
    if found is not None:
        parsed_key, parsed = parse_payload(data, due, f"payloads/{due}.json")
        assert found == (parsed_key, canonical_json(parsed))
    elif plain:
        raise AssertionError(f"the fast path refused the writer's own file: {data!r}")
    try:
        fast: bool | str = digest_matches(data, due, digest)
    except BundleError as exc:
        fast = str(exc)
    assert fast == slow
    if plain:
        assert fast is (not other_key)


def _round_trips(payload: Any) -> bool:
    try:
        return canonical_json(json.loads(canonical_json(payload))) == canonical_json(payload)
    except ValueError:
        return False


def test_payload_files_in_another_layout_take_the_slow_path_and_verify() -> None:
    key, payload = b"k" * 32, {"b": [1, 2.5, "é"], "a": None}
    digest = payload_digest(key, payload).encode()
    for document in [{"payload": payload, "seq": 3, "key": b64(key)},
                     {"seq": 3, "key": b64(key), "payload": payload}]:
        for data in [json.dumps(document).encode(), json.dumps(document, indent=1).encode()]:
            assert canonical_payload(data, 3) is None
            assert digest_matches(data, 3, digest)
    writer_form = canonical_json({"seq": 3, "key": b64(key), "payload": payload}) + b"\n"
    assert canonical_payload(writer_form, 3) == (key, canonical_json(payload))
    assert canonical_payload(writer_form[:-1], 3) is None  # no newline: not the writer's
    assert canonical_payload(writer_form + b" ", 3) is None
    assert canonical_payload(writer_form, 4) is None
    for key_text in (b"", b"!!!!", b"AA=A", b"QUJD\\n"):  # empty, not base64, bad padding
        odd = b'{"key":"%s","payload":1,"seq":3}\n' % key_text
        assert canonical_payload(odd, 3) is None
        with pytest.raises(BundleError, match="/key"):
            digest_matches(odd, 3, digest)


def test_read_payload_reads_whole_files_and_fails_like_open(tmp_path: Path) -> None:
    for size in (0, 1, (1 << 16) - 1, 1 << 16, (1 << 16) + 1, 300_000):
        file = tmp_path / f"{size}.json"
        file.write_bytes(bytes(range(256)) * (size // 256) + b"x" * (size % 256))
        assert read_payload(str(file)) == file.read_bytes()
    with pytest.raises(IsADirectoryError):
        read_payload(str(tmp_path))
    with pytest.raises(FileNotFoundError):
        read_payload(str(tmp_path / "missing.json"))


def test_payloads_larger_than_one_read_and_rewritten_files_verify(tmp_path: Path) -> None:
    ledger = Ledger(signers=[signer()])
    for seq in range(8):
        fields, payload = record_fields(seq)
        if payload is not None:
            payload = {**payload, "attachment": "é" * 50_000 + str(seq)}
            fields["payload_digest"] = payload_digest(payload_key(seq), payload)
        ledger.append(fields, payload)
    ledger.checkpoint()
    path = ledger.write_bundle(tmp_path / "bundle")
    stored = sorted(ledger.payloads)
    assert verify_bundle(path).payloads_verified == len(stored)
    spaced = path / "payloads" / f"{stored[0]}.json"
    spaced.write_text(json.dumps(json.loads(spaced.read_bytes()), indent=2))
    assert verify_bundle(path).payloads_verified == len(stored)
    document = json.loads(spaced.read_bytes())
    document["payload"]["attachment"] += "!"
    spaced.write_bytes(canonical_json(document) + b"\n")
    assert isinstance(failed_at(path, stored[0]), PayloadMismatch)


def _damage_payload(path: Path, seq: int) -> None:
    target = path / "payloads" / f"{seq}.json"
    document = json.loads(target.read_bytes())
    document["payload"]["amount"] = -1
    target.write_bytes(canonical_json(document) + b"\n")


def _rewrite_line(path: Path, seq: int) -> None:
    records = (path / "records.jsonl").read_bytes().splitlines(keepends=True)
    records[seq] = records[seq].replace(b'"v":1}', b'"v":1 }')
    (path / "records.jsonl").write_bytes(b"".join(records))


def _change_record(path: Path, seq: int) -> None:
    records = (path / "records.jsonl").read_bytes().splitlines(keepends=True)
    records[seq] = records[seq].replace(b'"graph":"payments"', b'"graph":"payment5"')
    (path / "records.jsonl").write_bytes(b"".join(records))


LATER_FAILURES = {
    "a changed record": (_change_record, ChainError),
    "a malformed line": (_rewrite_line, BundleError),
    "records cut short": (lambda path, seq: (path / "records.jsonl").write_bytes(
        b"".join((path / "records.jsonl").read_bytes().splitlines(keepends=True)[:seq])),
        ChainError),
    "a checkpoint by an unknown key": (lambda path, seq: (path / "keys").write_text(
        f"{signer(9).verifier_key()}\n"), UnverifiedNote),
}


@pytest.mark.parametrize("later", sorted(LATER_FAILURES))
def test_a_bad_payload_put_off_is_still_reported_before_a_later_failure(
    tmp_path: Path, later: str,
) -> None:
    ledger = build_ledger(40, checkpoint_every=5)
    damage, kind = LATER_FAILURES[later]
    path = ledger.write_bundle(tmp_path / "bundle")
    damage(path, 37)
    assert isinstance(failure(path), kind)  # on its own, the later failure is reported
    first = min(ledger.payloads)
    _damage_payload(path, first)
    assert isinstance(failed_at(path, first), PayloadMismatch)
    (path / "payloads" / f"{first}.json").unlink()
    (path / "payloads" / f"{first}.json").mkdir()  # unreadable: a BundleError names it
    error = failure(path)
    assert isinstance(error, BundleError) and f"payloads/{first}.json" in str(error)


def test_payloads_are_checked_in_batches_and_all_of_them(tmp_path: Path) -> None:
    count = 7 * (BATCH + 3)  # two stored payloads every seven records: several batches
    ledger = build_ledger(count, checkpoint_every=50)
    path = ledger.write_bundle(tmp_path / "bundle")
    assert verify_bundle(path).payloads_verified == len(ledger.payloads) > BATCH
    last = max(ledger.payloads)
    _damage_payload(path, max(ledger.payloads))
    assert isinstance(failed_at(path, last), PayloadMismatch)


# --- The JSON encoder made once ---------------------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(payload_values | st.sampled_from([float("nan"), float("inf"), {"a": float("-inf")}]))
def test_the_one_shot_encoder_is_the_standard_encoder(value: Any) -> None:
    try:
        expected: str | type[Exception] = _ENCODER.encode(value)
    except ValueError:
        expected = ValueError
    if expected is ValueError:
        with pytest.raises(ValueError):
            encode_fast(value)
    else:
        assert encode_fast(value) == expected
