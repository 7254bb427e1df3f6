"""``oversight keys|audit|demo`` as a person runs them: real processes, real databases."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from oversight import db
from oversight.ledger import service
from oversight.ledger.actors import SystemActor
from oversight_audit import Receipt, VerifierKey, verify_bundle, verify_receipt

REPO = Path(__file__).resolve().parents[2]


def run(args: list[str], env: dict[str, str], *,
        stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "oversight.cli", *args], cwd=env["OVERSIGHT_HOME"],
                          env={**os.environ, **env}, capture_output=True, text=True, input=stdin,
                          timeout=300, check=False)


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return {"OVERSIGHT_HOME": str(tmp_path), "OVERSIGHT_DATABASE_URL": database_url,
            "OVERSIGHT_LEDGER_ORIGIN": "cli.test/ledger", "OVERSIGHT_LOG_FORMAT": "json"}


def _append(url: str, count: int) -> None:
    factory = db.session_factory(db.create_db_engine(url))
    with factory() as session, session.begin():
        for i in range(count):
            service.append_record(session, action="test.appended", actor=SystemActor("cli"),
                                  subject={"thread": "t"}, data={"i": i}, payload={"secret": i})


def test_keys_generate_writes_a_private_key_only_its_owner_reads(env, tmp_path):
    result = run(["keys", "generate", "--out", str(tmp_path / "k"), "--name", "acme.example/l"], env)
    assert result.returncode == 0, result.stderr
    pem = tmp_path / "k" / "acme.example_l.pem"
    assert stat.S_IMODE(pem.stat().st_mode) == 0o600
    verifier = VerifierKey.from_string((tmp_path / "k" / "acme.example_l.pub").read_text().strip())
    assert verifier.name == "acme.example/l"
    again = run(["keys", "generate", "--out", str(tmp_path / "k"), "--name", "acme.example/l"], env)
    assert again.returncode != 0 and "--overwrite" in again.stderr


def test_export_verify_receipt_and_erase(env, database_url, tmp_path):
    _append(database_url, 12)
    assert run(["audit", "seal"], env).returncode == 0
    out = tmp_path / "bundle"
    exported = run(["audit", "export", "--out", str(out)], env)
    assert exported.returncode == 0, exported.stderr
    report = verify_bundle(out, keys=None)
    assert report.record_count >= 12
    offline = subprocess.run([sys.executable, "-m", "oversight_audit", "verify", str(out)],
                             capture_output=True, text=True, check=False)
    assert offline.returncode == 0, offline.stdout + offline.stderr

    receipt_file = tmp_path / "r.json"
    made = run(["audit", "receipt", "3", "--out", str(receipt_file)], env)
    assert made.returncode == 0, made.stderr
    assert verify_receipt(Receipt.from_json(receipt_file.read_bytes())).seq == 3

    erased = run(["audit", "erase", "3", "--reason", "GDPR request 42"], env)
    assert erased.returncode == 0, erased.stderr
    assert run(["audit", "erase", "3", "--reason", "again"], env).returncode != 0
    verified = run(["audit", "verify"], env)
    assert verified.returncode == 0, verified.stderr
    assert "ledger intact" in verified.stdout
    factory = db.session_factory(db.create_db_engine(database_url))
    with factory() as session:
        last = json.loads(service.get_record(session, seq=service.tree_size(session) - 1).line)
        assert last["action"] == "payload.erased" and last["data"]["erased_seq"] == 3
        assert service.get_payload(session, seq=3).payload is None


def test_verify_names_the_tampered_record(env, database_url):
    _append(database_url, 5)
    assert run(["audit", "seal"], env).returncode == 0
    engine = db.create_db_engine(database_url)
    with engine.begin() as conn:
        line = conn.exec_driver_sql("SELECT line FROM ledger_record WHERE seq = 2").scalar_one()
        forged = line.replace('"i":2', '"i":9')
        assert forged != line
        conn.exec_driver_sql("UPDATE ledger_record SET line = %s WHERE seq = 2" if
                             engine.dialect.name == "postgresql" else
                             "UPDATE ledger_record SET line = ? WHERE seq = 2", (forged,))
    engine.dispose()
    result = run(["audit", "verify"], env)
    assert result.returncode == 1
    assert "seq 2" in result.stderr


def test_bad_time_option_says_what_is_wrong(env, tmp_path):
    result = run(["audit", "export", "--out", str(tmp_path / "x"), "--since", "yesterday"], env)
    assert result.returncode == 2
    assert "--since" in result.stderr and "ISO 8601" in result.stderr
