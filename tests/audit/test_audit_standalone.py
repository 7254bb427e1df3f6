"""The verifier stands alone: it verifies a bundle with the ``oversight`` package unimportable."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "bundle"
BLOCKED = """
import sys, runpy
class Block:
    def find_spec(self, name, path=None, target=None):
        if name == "oversight" or name.startswith("oversight."):
            raise ImportError("oversight must not be imported by the verifier")
sys.meta_path.insert(0, Block())
sys.argv = ["oversight_audit", "verify", sys.argv[1]]
runpy.run_module("oversight_audit", run_name="__main__")
"""


def test_the_verifier_never_imports_the_platform():
    result = subprocess.run([sys.executable, "-c", BLOCKED, str(GOLDEN)], capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("INTACT")
