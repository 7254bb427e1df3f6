"""Fixtures for the offline verifier's tests: shared vectors, and a small ledger."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

#: Public test vectors beside the repository (RFC 6962 trees, transparency-dev, signed notes).
VECTORS = Path(__file__).resolve().parents[2].parent / "shared" / "vectors"
IN_CI = os.environ.get("CI", "").lower() == "true"


def require_vectors() -> Path:
    """The vectors folder; skip loudly when absent, fail under CI (CI=true)."""
    if not VECTORS.is_dir():
        reason = f"shared test vectors not found at {VECTORS}"
        if IN_CI:
            pytest.fail(f"required under CI: {reason}", pytrace=False)
        print(f"\n*** SKIPPING: {reason} ***", file=sys.stderr)
        pytest.skip(reason)
    return VECTORS
