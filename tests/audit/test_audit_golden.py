"""Golden files pin the format: they still verify, and regenerating them changes no byte."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from oversight_audit import (
    Receipt,
    Record,
    VerifierKey,
    verify_bundle,
    verify_chain,
    verify_receipt,
)

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
KEY = VerifierKey.from_string((GOLDEN / "keys").read_text())


def _files(root: Path) -> dict[str, bytes]:
    return {str(path.relative_to(root)): path.read_bytes()
            for path in sorted(root.rglob("*")) if path.is_file()
            and path.name not in {"make_golden.py", "README.md"} and "__pycache__" not in str(path)}


def test_the_golden_bundle_verifies_with_the_pinned_key() -> None:
    report = verify_bundle(GOLDEN / "bundle", keys=[KEY])
    assert (report.first_seq, report.last_seq, report.checkpoints_verified) == (0, 19, 3)
    assert (report.payloads_verified, report.payloads_absent) == (4, 1)
    assert report.keys_pinned and not report.warnings
    last = Record.from_line((GOLDEN / "bundle" / "records.jsonl").read_bytes().splitlines()[-1])
    assert last.action == "payload.erased" and last.subject == {"record": "8"}
    assert not (GOLDEN / "bundle" / "payloads" / "8.json").exists()


def test_the_partial_golden_bundle_verifies_through_prefix_and_tail_proof() -> None:
    report = verify_bundle(GOLDEN / "bundle-from-5", keys=[KEY])
    assert (report.first_seq, report.last_seq, report.checkpoint_size) == (5, 17, 20)
    assert report.root == verify_chain(GOLDEN / "bundle" / "records.jsonl").root


def test_the_golden_receipt_verifies() -> None:
    record = verify_receipt(Receipt.from_json((GOLDEN / "receipt.json").read_bytes()), [KEY])
    assert (record.seq, record.action, record.checkpoint.size) == (12, "decision.recorded", 20)


def test_regenerating_the_golden_files_changes_no_byte(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(GOLDEN / "make_golden.py"), "--out", str(tmp_path)],
                   check=True, capture_output=True)
    fresh, kept = _files(tmp_path), _files(GOLDEN)
    assert sorted(fresh) == sorted(kept)
    changed = [name for name in kept if fresh[name] != kept[name]]
    assert not changed, f"the ledger format drifted in {changed}; see make_golden.py"
