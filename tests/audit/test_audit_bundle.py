"""Bundles: an intact export verifies; every kind of tampering is caught at the right seq."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oversight_audit import (
    BundleError,
    BundleWriter,
    ChainError,
    Checkpoint,
    CheckpointError,
    ConsistencyProofError,
    PayloadMismatch,
    RootMismatch,
    UnverifiedNote,
    canonical_json,
    compute_record_hash,
    sign_checkpoint,
    verify_bundle,
    verify_chain,
)
from tests.audit.bundles import (
    Shape,
    bundle,
    edit_manifest,
    failed_at,
    failure,
    lines,
    reline,
    shapes,
    write_lines,
)
from tests.audit.factories import ORIGIN, build_ledger, signer

FAST = settings(max_examples=100, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _checked_sizes(shape: Shape) -> set[int]:
    """Sizes at which the verifier compares the records' root with a signed one."""
    sizes = {s for s in shape.ledger.checkpoints if shape.first < s <= shape.last + 1}
    return sizes if shape.size == shape.last + 1 else sizes - {shape.size}


@FAST
@given(shapes(), st.booleans())
def test_an_intact_bundle_verifies_and_reports_what_it_checked(shape: Shape, pin: bool) -> None:
    keys = [signer().verifier_key()] if pin else None
    seen: list[int] = []
    with bundle(shape) as path:
        report = verify_bundle(path, keys=keys, progress=seen.append)
    digests = [s for s in range(shape.first, shape.last + 1)
               if shape.ledger.records[s]["payload_digest"] is not None]
    assert (report.first_seq, report.last_seq) == (shape.first, shape.last)
    assert report.record_count == shape.last - shape.first + 1 == seen[-1]
    assert report.checkpoint_size == shape.size
    assert report.checkpoints_verified == len(_checked_sizes(shape) | {shape.size})
    assert report.payloads_verified == len(digests) and report.payloads_absent == 0
    assert report.keys_pinned is pin and report.first_prev_checked is (shape.first == 0)
    assert report.verified_by == (str(signer().verifier_key()),)
    assert any("not pinned" in w for w in report.warnings) is not pin


FIELD_CHANGES: dict[str, Any] = {
    "time": "2030-01-01T00:00:00.000000Z",
    "actor": {"type": "system", "id": "system:mallory"},
    "action": "decision.forged",
    "subject": {"thread": "another"},
    "payload_digest": "hmac-sha256:" + "0" * 64,
    "policy": None,
    "data": {"outcome": "rejected"},
    "prev": "f" * 64,
    "hash": "e" * 64,
    "seq": 10**6,
}


@FAST
@given(shapes(), st.data())
def test_any_change_to_any_field_is_caught_at_its_seq(shape: Shape, data: st.DataObject) -> None:
    seq = data.draw(st.integers(shape.first, shape.last), label="seq")
    field = data.draw(st.sampled_from(sorted(FIELD_CHANGES)), label="field")
    with bundle(shape) as path:
        records = lines(path)
        record = json.loads(records[seq - shape.first])
        value = FIELD_CHANGES[field]
        record[field] = value if record[field] != value else "0" * 64
        records[seq - shape.first] = reline(record)
        write_lines(path, records)
        error = failed_at(path, seq)
    assert isinstance(error, ChainError) and error.check in {"hash", "seq"}


@FAST
@given(shapes(), st.data())
def test_a_rewritten_record_with_a_fresh_hash_is_caught(shape: Shape, data: st.DataObject) -> None:
    seq = data.draw(st.integers(shape.first, shape.last), label="seq")
    with bundle(shape) as path:
        records = lines(path)
        record = json.loads(records[seq - shape.first])
        record["data"] = {"outcome": "approved by nobody"}
        record["hash"] = compute_record_hash(record)
        records[seq - shape.first] = reline(record)
        write_lines(path, records)
        if seq + 1 in _checked_sizes(shape):
            assert isinstance(failed_at(path, seq), RootMismatch)
        elif seq < shape.last:
            assert failed_at(path, seq + 1).check == "prev"
        else:
            assert isinstance(failed_at(path, shape.last), ConsistencyProofError)


@FAST
@given(shapes(min_records=2), st.data())
def test_deleted_duplicated_inserted_reordered_or_truncated_records_are_caught(
    shape: Shape, data: st.DataObject
) -> None:
    kind = data.draw(st.sampled_from(["delete", "duplicate", "insert", "swap", "truncate"]))
    span = shape.last - shape.first + 1
    at = data.draw(st.integers(0, span - 2), label="position")
    with bundle(shape) as path:
        records = lines(path)
        if kind == "delete":
            del records[at]
            expected = shape.first + at
        elif kind == "duplicate":
            records.insert(at + 1, records[at])
            expected = shape.first + at + 1
        elif kind == "insert":  # another record's line (from elsewhere in the ledger) slipped in
            other = shape.ledger.lines[(shape.first + at + 3) % shape.count]
            records.insert(at, other)  # if it is the very record due there, the next one fails
            expected = shape.first + at + (other == records[at + 1])
        elif kind == "swap":
            records[at], records[at + 1] = records[at + 1], records[at]
            expected = shape.first + at
        else:
            cut = data.draw(st.integers(1, span - 1), label="cut")
            records = records[:-cut]
            expected = shape.last + 1 - cut
        write_lines(path, records)
        error = failure(path)
    assert isinstance(error, ChainError), f"{kind}: {error!r}"
    assert error.seq == expected, f"{kind}: {error}"


def test_a_record_past_the_newest_checkpoint_is_caught() -> None:
    ledger = build_ledger(12, checkpoint_every=4)  # checkpoints at 4, 8, 12
    with bundle(Shape(12, 4, 0, 11, 12)) as path:
        extra = ledger.lines[11]  # stands in for a 13th record: any line past the end
        write_lines(path, [*lines(path), extra])
        error = failed_at(path, 12)  # past last_seq in the manifest
        assert isinstance(error, CheckpointError) and error.check == "coverage"
    with bundle(Shape(12, 4, 0, 7, 8)) as path:
        write_lines(path, [*lines(path), *ledger.lines[8:10]])
        edit_manifest(path, last_seq=9, record_count=10)  # claims 10 records, signed 8
        error = failed_at(path, 8)
        assert isinstance(error, CheckpointError) and "not covered" in str(error)


def _resign(path: Path, name: str, size: int, *, forge_root: bool, seed: int) -> None:
    """Replace the checkpoint of ``size`` (in ``name``) with one signed by ``seed``'s key."""
    def forged(note: str) -> str:
        text = note[: note.rfind("\n\n") + 1]
        checkpoint = Checkpoint.from_text(text)
        root = bytes(32) if forge_root else checkpoint.root
        return sign_checkpoint(Checkpoint(checkpoint.origin, checkpoint.size, root,
                                          checkpoint.chain_head), [signer(seed)])
    if name == "checkpoint":
        (path / name).write_text(forged((path / name).read_text()))
        return
    notes = [json.loads(line) for line in (path / name).read_text().splitlines()]
    notes = [forged(n) if Checkpoint.from_text(n[: n.rfind("\n\n") + 1]).size == size else n
             for n in notes]
    (path / name).write_bytes(b"".join(canonical_json(n) + b"\n" for n in notes))


@FAST
@given(shapes(), st.data(), st.booleans())
def test_a_checkpoint_by_an_unknown_key_or_over_a_forged_root_is_caught(
    shape: Shape, data: st.DataObject, forge_root: bool
) -> None:
    candidates = [*sorted(_checked_sizes(shape) - {shape.size}), shape.size]
    size = data.draw(st.sampled_from(candidates), label="size")
    name = "checkpoint" if size == shape.size else "checkpoints.jsonl"
    with bundle(shape) as path:
        _resign(path, name, size, forge_root=forge_root, seed=1 if forge_root else 7)
        error = failed_at(path, min(size, shape.last + 1) - 1)
    if not forge_root:
        assert isinstance(error, UnverifiedNote)
    elif size != shape.size or size == shape.last + 1:  # compared with the records' root
        assert isinstance(error, RootMismatch)
    else:  # the newest checkpoint, past the records: reached through the tail proof
        assert isinstance(error, ConsistencyProofError)


def test_payloads_are_checked_and_erased_ones_counted() -> None:
    shape = Shape(14, 7, 0, 13, 14)
    digests = [s for s in range(14) if shape.ledger.records[s]["payload_digest"]]
    with bundle(shape, erased=digests[:1]) as path:
        report = verify_bundle(path)
        assert (report.payloads_verified, report.payloads_absent) == (len(digests) - 1, 1)
        target = path / "payloads" / f"{digests[1]}.json"
        document = json.loads(target.read_bytes())
        document["payload"]["amount"] = 1
        target.write_bytes(canonical_json(document))
        assert isinstance(failed_at(path, digests[1]), PayloadMismatch)
    with bundle(shape) as path:  # a payload file for a record that commits to no payload
        (path / "payloads" / "0.json").write_bytes(
            canonical_json({"seq": 0, "key": "AAAA", "payload": {}}))
        assert isinstance(failed_at(path, 0), PayloadMismatch)


def test_pinned_keys_decide_and_unpinned_keys_are_reported() -> None:
    with bundle(Shape(10, 5, 0, 9, 10)) as path:
        assert verify_bundle(path, keys=[signer().verifier_key()]).keys_pinned
        assert isinstance(failed_at(path, 4, keys=[signer(9).verifier_key()]), UnverifiedNote)
        (path / "keys").write_text(f"{signer(9).verifier_key()}\n")  # the file lies
        assert isinstance(failed_at(path, 4), UnverifiedNote)
        assert verify_bundle(path, keys=[signer().verifier_key()]).checkpoints_verified == 2


def test_a_chain_head_that_names_another_record_is_caught() -> None:
    with bundle(Shape(10, 5, 0, 9, 10)) as path:
        (path / "checkpoint").write_text(sign_checkpoint(
            Checkpoint(ORIGIN, 10, Shape(10, 5, 0, 9, 10).ledger.tree.root(), "a" * 64),
            [signer()]))
        error = failed_at(path, 9)
        assert isinstance(error, CheckpointError) and error.check == "chain head"


def test_a_bundle_of_another_origin_is_refused() -> None:
    with bundle(Shape(10, 5, 0, 9, 10)) as path:
        edit_manifest(path, origin="elsewhere.example/log")
        assert failed_at(path, 4).check == "origin"


# --- Unusable input: BundleError naming the file (and line), never a verification verdict. ---

def _break_line(path: Path, index: int, new: bytes) -> None:
    records = lines(path)
    records[index] = new
    write_lines(path, records)


BREAKAGES: list[tuple[str, Any, str]] = [
    ("broken JSON line", lambda p: _break_line(p, 3, b'{"action":'), "records.jsonl line 4"),
    ("wrong type", lambda p: _break_line(p, 2, lines(p)[2].replace(b'"seq":2', b'"seq":"2"')),
     "/seq: expected an integer"),
    ("non-canonical line", lambda p: _break_line(p, 1, lines(p)[1].replace(b":", b": ", 1)),
     "canonical form"),
    ("huge number", lambda p: _break_line(p, 1, lines(p)[1].replace(b'"seq":1', b'"seq":1' +
                                                                     b"0" * 30)),
     "out of range"),
    ("unknown version", lambda p: _break_line(p, 0, lines(p)[0].replace(b'"v":1', b'"v":9')),
     "unknown format version 9"),
    ("no final newline", lambda p: (p / "records.jsonl").write_bytes(
        (p / "records.jsonl").read_bytes()[:-1]), "newline"),
    ("bad base64 in the manifest", lambda p: edit_manifest(p, tail_proof=["!!"]),
     "/tail_proof/0: not valid base64"),
    ("wrong prefix length", lambda p: edit_manifest(p, prefix=["A" * 43 + "="]), "/prefix"),
    ("inconsistent record count", lambda p: edit_manifest(p, record_count=3), "/record_count"),
    ("manifest not JSON", lambda p: (p / "manifest.json").write_text("{"), "manifest.json"),
    ("unknown bundle format", lambda p: edit_manifest(p, format="v2"), "/format"),
    ("missing manifest", lambda p: (p / "manifest.json").unlink(), "manifest.json: missing"),
    ("missing records", lambda p: (p / "records.jsonl").unlink(), "records.jsonl: missing"),
    ("missing checkpoint", lambda p: (p / "checkpoint").unlink(), "checkpoint: missing"),
    ("missing keys", lambda p: (p / "keys").unlink(), "keys: missing"),
    ("garbled key", lambda p: (p / "keys").write_text("nobody+00000000+AAAA\n"), "keys line 1"),
    ("garbled checkpoint", lambda p: (p / "checkpoint").write_text("hello\n"), "checkpoint"),
    ("checkpoints.jsonl garbage", lambda p: (p / "checkpoints.jsonl").write_text("[1]\n"),
     "checkpoints.jsonl line 1"),
    ("payload not JSON", lambda p: (p / "payloads" / "1.json").write_text("{"),
     "payloads/1.json"),
    ("stray file in payloads", lambda p: (p / "payloads" / "notes.txt").write_text("x"),
     "payloads/notes.txt"),
]


@pytest.mark.parametrize(("what", "damage", "message"), BREAKAGES,
                         ids=[b[0] for b in BREAKAGES])
def test_unusable_input_is_a_bundle_error_that_says_where(
    what: str, damage: Any, message: str
) -> None:
    with bundle(Shape(10, 5, 0, 9, 10)) as path:
        damage(path)
        error = failure(path)
    assert isinstance(error, BundleError), f"{what}: {error!r}"
    assert message in str(error)


def test_a_checkpoint_out_of_order_or_outside_the_range_is_unusable() -> None:
    with bundle(Shape(12, 3, 4, 11, 12)) as path:  # intermediate checkpoints 6 and 9
        notes = (path / "checkpoints.jsonl").read_text().splitlines()
        (path / "checkpoints.jsonl").write_text("\n".join(reversed(notes)) + "\n")
        assert "out of order" in str(failure(path))
        (path / "checkpoints.jsonl").write_text(
            json.dumps(Shape(12, 3, 4, 11, 12).ledger.checkpoints[3]) + "\n")
        assert "not after first_seq" in str(failure(path))


def test_the_writer_refuses_what_would_make_a_broken_bundle(tmp_path: Path) -> None:
    ledger = build_ledger(6, checkpoint_every=3)
    writer = BundleWriter(tmp_path / "b")
    writer.write_record(ledger.lines[0])
    with pytest.raises(BundleError, match="seq 2 written after seq 0"):
        writer.write_record(ledger.lines[2])
    with pytest.raises(BundleError, match="not empty"):
        BundleWriter(tmp_path / "b")
    writer.write_checkpoint(ledger.checkpoints[6])
    with pytest.raises(BundleError, match="size 3 written after size 6"):
        writer.write_checkpoint(ledger.checkpoints[3])
    with pytest.raises(BundleError, match=r"written, not 0\.\.5"):
        writer.close(origin=ORIGIN, first_seq=0, last_seq=5, prefix=[],
                     checkpoint=ledger.checkpoints[6], checkpoint_size=6, tail_proof=[],
                     keys=[], exported_at="2026-11-25T00:00:00.000000Z")


def test_chain_only_verification_is_reported_as_weaker() -> None:
    with bundle(Shape(10, 5, 0, 9, 10)) as path:
        report = verify_chain(path / "records.jsonl")
        assert report.chain_only and report.record_count == 10
        assert report.root == Shape(10, 5, 0, 9, 10).ledger.tree.root()
        assert "chain only" in report.warnings[0]
        records = lines(path)
        records[4] = records[4].replace(b"2026-11-25", b"2026-11-26")
        write_lines(path, records)
        with pytest.raises(ChainError) as caught:
            verify_chain(path / "records.jsonl")
        assert caught.value.seq == 4
    with bundle(Shape(10, 5, 3, 8, 10)) as path:
        report = verify_chain(path / "records.jsonl")
        assert (report.first_seq, report.last_seq, report.root) == (3, 8, None)
        assert not report.first_prev_checked


def test_an_empty_range_still_ties_its_prefix_to_the_newest_checkpoint(tmp_path: Path) -> None:
    ledger = Shape(12, 4, 0, 11, 12).ledger
    path = ledger.write_bundle(tmp_path / "empty", first_seq=6, last_seq=5, checkpoint_size=12)
    report = verify_bundle(path)
    assert (report.record_count, report.checkpoints_verified) == (0, 1)
    manifest = json.loads((path / "manifest.json").read_bytes())
    manifest["prefix"][0] = "A" * 43 + "="  # a forged tree state before the range
    (path / "manifest.json").write_text(json.dumps(manifest))
    assert isinstance(failed_at(path, 5), ConsistencyProofError)
