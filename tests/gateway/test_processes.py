"""Restarts and concurrent deciders in separate processes: every thread resumes exactly once."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from oversight import db
from tests.gateway.support import actions

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _spawn(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "tests.gateway.workers", *args], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _result(process: subprocess.Popen[str]) -> dict:
    out, err = process.communicate(timeout=240)
    assert process.returncode == 0, err[-3000:]
    return json.loads(out.strip().splitlines()[-1])


def test_a_restarted_process_resumes_from_the_database_alone(database_url):
    started = _result(_spawn("start", database_url))  # this process exits while waiting
    decided = _result(_spawn("decide", database_url, started["request"], started["digest"],
                             "dana"))
    assert decided == {"outcome": "final"}
    status = _result(_spawn("status", database_url, started["thread"]))
    assert status["status"] == "completed"
    assert status["result"].startswith("executed on production: DELETE")


def test_concurrent_deciders_in_several_processes_resume_once(database_url):
    started = _result(_spawn("start", database_url))
    deciders = [_spawn("decide", database_url, started["request"], started["digest"], name)
                for name in ("dana", "dmitri", "dora", "dave")]
    outcomes = [_result(p) for p in deciders]
    assert sorted(o["outcome"] for o in outcomes) == ["final", "refused", "refused", "refused"]
    assert {o.get("code") for o in outcomes if o["outcome"] == "refused"} == {"not_pending"}
    sessions = db.session_factory(db.create_db_engine(database_url))
    trail = actions(sessions, started["thread"])
    assert trail.count("decision.recorded") == 1
    assert trail.count("resume.applied") == 1
    assert trail.count("run.completed") == 1
    assert _result(_spawn("status", database_url, started["thread"]))["status"] == "completed"
