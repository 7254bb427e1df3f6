"""Regenerate the golden ledger files that pin the ledger format.

    python3 -m uv run python tests/golden/make_golden.py            # rewrite tests/golden/
    python3 -m uv run python tests/golden/make_golden.py --out DIR  # write elsewhere

Everything is deterministic (fixed Ed25519 seed, fixed times, fixed payload keys), so the
output is byte-for-byte stable; ``tests/audit/test_audit_golden.py`` checks that it still
verifies and that regenerating changes nothing. If a change to ``oversight_audit`` changes
these bytes, the format changed: bump the version it carries, never the golden files alone.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))  # the repository root, for tests.audit.factories

from tests.audit.factories import Ledger, record_fields, signer  # noqa: E402

#: Outputs, relative to the output folder (make_golden.py and README.md are left alone).
OUTPUTS = ("bundle", "bundle-from-5", "receipt.json", "keys")
ERASED = 8  # the payload of seq 8 (an interrupt.raised) is erased by seq 19


def build() -> Ledger:
    """20 records, checkpoints at sizes 7, 14 and 20, the last record erasing a payload."""
    ledger = Ledger(signers=[signer()])
    for seq in range(20):
        fields, payload = record_fields(seq)
        if seq == 19:
            fields = {**fields, "actor": {"type": "system", "id": "system:retention"},
                      "action": "payload.erased", "subject": {"record": str(ERASED)},
                      "payload_digest": None, "data": {"seq": ERASED, "reason": "retention"}}
            payload = None
        ledger.append(fields, payload)
        if seq + 1 in (7, 14, 20):
            ledger.checkpoint()
    return ledger


def main(argv: list[str] | None = None) -> None:
    """Write the golden files."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE)
    out: Path = parser.parse_args(argv).out
    out.mkdir(parents=True, exist_ok=True)
    for name in OUTPUTS:
        target = out / name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    ledger = build()
    ledger.write_bundle(out / "bundle", erased=[ERASED])
    ledger.write_bundle(out / "bundle-from-5", first_seq=5, last_seq=17, checkpoint_size=20,
                        erased=[ERASED])
    (out / "receipt.json").write_bytes(ledger.receipt(12, 20).to_json())
    (out / "keys").write_text(f"{signer().verifier_key()}\n")


if __name__ == "__main__":
    main()
