"""The chain never forks or has gaps with writers and sequencers in several processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from oversight.ledger import service
from oversight.ledger.models import LedgerCheckpoint
from oversight.ledger.sealing import seal_all
from oversight_audit import GENESIS_PREV, leaf_hash, root_of
from tests.ledger.conftest import ORIGIN

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _worker(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "tests.ledger.workers", *args], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait(process: subprocess.Popen[str], timeout: float = 120) -> str:
    out, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, err
    return out


def assert_intact(session: Session, expected: int) -> None:
    """Contiguous seq from 0, prev links, and every checkpoint's root over the lines."""
    lines = [r.line.encode() for r in service.iter_records(session)]
    records = [json.loads(line) for line in lines]
    assert [r["seq"] for r in records] == list(range(expected))
    prev = GENESIS_PREV
    for record in records:
        assert record["prev"] == prev
        prev = record["hash"]
    leaves = [leaf_hash(line) for line in lines]
    for cp in session.scalars(select(LedgerCheckpoint)):
        assert bytes.fromhex(cp.root) == root_of(leaves[: cp.tree_size]), cp.tree_size


def test_many_writers_and_two_sequencers(database_url, sessions, signer, tmp_path):
    stop = tmp_path / "stop"
    sequencers = [_worker("sequencer", database_url, str(stop)) for _ in range(2)]
    writers = [_worker("append", database_url, str(w), "120", "1" if w % 2 else "10")
               for w in range(4)]
    for process in writers:
        _wait(process)
    stop.touch()
    for process in sequencers:
        _wait(process)
    seal_all(sessions, signer=signer, origin=ORIGIN)
    with sessions() as session:
        assert service.pending_count(session) == 0
        assert_intact(session, 480)
        per_writer = {}
        for record in service.iter_records(session):
            data = json.loads(record.line)["data"]
            per_writer.setdefault(data["writer"], []).append(data["n"])
        assert {w: sorted(n) for w, n in per_writer.items()} == {
            str(w): list(range(120)) for w in range(4)}


def test_a_sequencer_killed_mid_batch_leaves_nothing_half_done(database_url, sessions, signer):
    _wait(_worker("append", database_url, "a", "300", "300"))
    hung = _worker("seal-and-hang", database_url)
    assert hung.stdout is not None
    assert hung.stdout.readline().strip() == "sealed 300"
    if database_url.startswith("postgresql"):
        # a second sequencer started beside the first is refused while the first holds the lock
        assert _wait(_worker("try-seal", database_url)).strip() == "busy"
    os.kill(hung.pid, signal.SIGKILL)
    hung.wait(timeout=30)
    with sessions() as session:
        assert service.tree_size(session) == 0
        assert service.pending_count(session) == 300
    assert _wait(_worker("try-seal", database_url)).strip() == "sealed 300"
    with sessions() as session:
        assert_intact(session, 300)


def test_seal_all_after_a_kill_continues_the_same_chain(database_url, sessions, signer):
    _wait(_worker("append", database_url, "a", "40", "40"))
    seal_all(sessions, signer=signer, origin=ORIGIN, batch_size=15)
    _wait(_worker("append", database_url, "b", "25", "5"))
    hung = _worker("seal-and-hang", database_url)
    assert hung.stdout is not None and hung.stdout.readline().strip() == "sealed 25"
    hung.kill()
    hung.wait(timeout=30)
    seal_all(sessions, signer=signer, origin=ORIGIN, batch_size=15)
    with sessions() as session:
        assert_intact(session, 65)
        sizes = session.scalars(select(LedgerCheckpoint.tree_size).order_by(LedgerCheckpoint.tree_size)).all()
        assert sizes == [15, 30, 40, 55, 65]
