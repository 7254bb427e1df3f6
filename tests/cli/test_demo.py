"""The README's first command: ``oversight demo`` on embedded defaults, both ways."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from oversight_audit import verify_bundle


def run_demo(home: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OVERSIGHT_")}
    return subprocess.run([sys.executable, "-m", "oversight.cli", "demo", *args], cwd=home,
                          env=env, capture_output=True, text=True, input=stdin, timeout=300,
                          check=False)


def _bundle(home: Path) -> Path:
    exports = sorted((home / ".oversight" / "exports").iterdir())
    assert len(exports) == 1
    return exports[0]


def test_non_interactive_demo_ends_verified(tmp_path):
    result = run_demo(tmp_path, "--non-interactive")
    assert result.returncode == 0, result.stderr
    assert "Offline verification: intact" in result.stdout
    assert (tmp_path / ".oversight" / "oversight.db").is_file()
    assert "ledger.dev_key_generated" in result.stderr  # the development key is announced
    report = verify_bundle(_bundle(tmp_path), keys=None)
    assert report.record_count > 20
    assert result.stdout.count(": completed") == 4
    assert "executed on production: SELECT" in result.stdout
    assert "REFUSED (self_approval)" in result.stdout  # the DROP's requester may not approve
    assert "booked Casa do Rio" in result.stdout  # the traveller's edit reached the booking
    assert "1 expired" in result.stdout and "expired — nothing was booked" in result.stdout
