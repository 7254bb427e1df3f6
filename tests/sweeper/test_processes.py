"""Sweepers in separate processes: two at once never act twice on one request; one killed in
the middle of a batch leaves nothing half-done and the next pass finishes its work."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from oversight.approvals.models import ApprovalRequest
from oversight.gateway.models import Thread
from oversight.sweeper import Sweeper
from tests.sweeper.factories import due_requests
from tests.sweeper.support import ledger, sweep

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def spawn(database_url: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "tests.sweeper.workers", database_url, *args],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


async def finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = await asyncio.to_thread(process.communicate, timeout=300)
    return process.returncode, out, err


def statuses(gateway) -> tuple[Counter[str], Counter[str]]:
    with gateway.sessions() as session:
        requests = Counter(dict(session.execute(select(ApprovalRequest.status, func.count())
                                                .group_by(ApprovalRequest.status)).all()))
        threads = Counter(dict(session.execute(select(Thread.status, func.count())
                                               .group_by(Thread.status)).all()))
    return requests, threads


def acted_once_each(gateway, count: int) -> None:
    """Every request expired exactly once: one record per request and per thread."""
    expired = Counter(r["subject"]["approval"] for r in ledger(gateway.sessions,
                                                               action="request.expired"))
    ended = Counter(r["subject"]["thread"] for r in ledger(gateway.sessions, action="run.expired"))
    assert len(expired) == count and set(expired.values()) == {1}
    assert len(ended) == count and set(ended.values()) == {1}


async def test_two_sweepers_in_two_processes_act_once_on_each_of_1000_requests(
        gateway, database_url, tmp_path):
    await due_requests(gateway.sessions, gateway.checkpointer, count=1000,
                       deadline=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
    workers = [spawn(database_url, "--batch", "25", "--together", str(tmp_path))
               for _ in range(2)]  # both begin at once, when both are ready
    results = [await finish(w) for w in workers]
    for code, _, err in results:
        assert code == 0, err[-3000:]
    totals = [json.loads(out.strip().splitlines()[-1]) for _, out, _ in results]
    assert sum(t["expired"] for t in totals) == 1000
    assert all(t["errors"] == 0 for t in totals)
    acted_once_each(gateway, 1000)
    requests, threads = statuses(gateway)
    assert requests == {"expired": 1000} and threads == {"expired": 1000}


async def test_a_sweeper_killed_mid_batch_leaves_nothing_half_done(gateway, database_url, clock):
    await due_requests(gateway.sessions, gateway.checkpointer, count=300,
                       deadline=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
    # 50 requests a batch, one counted record each: dies at the 125th record, inside a batch.
    # Two batches settle at a time (due_workers), so one or two had committed by then.
    code, _, err = await finish(spawn(database_url, "--batch", "50",
                                      "--die-after", "125"))
    assert code == 3, err[-3000:]
    requests, threads = statuses(gateway)
    done = requests["expired"]
    assert done in (50, 100), requests  # whole batches only: nothing half-done
    assert requests == {"expired": done, "pending": 300 - done}
    assert threads == {"expired": done, "waiting": 300 - done}
    acted_once_each(gateway, done)
    clock.now = dt.datetime.now(dt.UTC)  # the process swept on real time; so does its successor
    restarted = Sweeper(gateway, batch=50, run_resumes=False)
    summary = await sweep(restarted, scan=False)
    assert summary.expired == 300 - done
    acted_once_each(gateway, 300)
    assert statuses(gateway) == ({"expired": 300}, {"expired": 300})

