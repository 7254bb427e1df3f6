"""The command line: exit 0 intact, 1 a failed check (with its seq), 2 unusable input."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from oversight_audit.__main__ import main

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
KEY = (GOLDEN / "keys").read_text().strip()


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "oversight_audit", *args],
                          capture_output=True, text=True, check=False)


def call(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(list(args), out=out, err=err)
    return status, out.getvalue(), err.getvalue()


@pytest.fixture
def golden_copy(tmp_path: Path) -> Path:
    return Path(shutil.copytree(GOLDEN / "bundle", tmp_path / "bundle"))


def test_an_intact_bundle_exits_0_and_warns_when_keys_are_not_pinned() -> None:
    done = run("verify", str(GOLDEN / "bundle"))
    assert done.returncode == 0, done.stderr
    assert "INTACT" in done.stdout and "20 records" in done.stdout
    assert "keys not pinned" in done.stderr
    pinned = run("verify", str(GOLDEN / "bundle"), "--key", KEY)
    assert pinned.returncode == 0 and "not pinned" not in pinned.stderr


def test_a_tampered_bundle_exits_1_naming_the_seq(golden_copy: Path) -> None:
    records = golden_copy / "records.jsonl"
    records.write_bytes(records.read_bytes().replace(b'"outcome":"approved"',
                                                     b'"outcome":"rejected"', 1))
    done = run("verify", str(golden_copy), "--key", KEY, "--json")
    assert done.returncode == 1
    result = json.loads(done.stdout)
    assert (result["status"], result["seq"], result["check"]) == ("failed", 5, "hash")
    human = run("verify", str(golden_copy))
    assert human.returncode == 1 and "seq 5: hash" in human.stdout
    assert "Traceback" not in human.stderr + human.stdout


@pytest.mark.parametrize("damage", ["bad-json", "missing-manifest", "bad-key", "no-such-path"])
def test_unusable_input_exits_2_without_a_traceback(golden_copy: Path, damage: str) -> None:
    args = ["verify", str(golden_copy)]
    if damage == "bad-json":
        records = golden_copy / "records.jsonl"
        records.write_bytes(b'{"action":\n' + records.read_bytes())
    elif damage == "missing-manifest":
        (golden_copy / "manifest.json").unlink()
    elif damage == "bad-key":
        args += ["--key", "nobody+12345678+AAAA"]
    else:
        args = ["verify", str(golden_copy / "nowhere")]
    done = run(*args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.startswith("error: unusable input:")
    assert "Traceback" not in done.stderr
    if damage == "bad-json":
        assert "records.jsonl line 1" in done.stderr


def test_a_records_file_alone_is_checked_as_a_chain_and_says_so() -> None:
    status, out, err = call("verify", str(GOLDEN / "bundle" / "records.jsonl"))
    assert status == 0
    assert "CHAIN ONLY" in out and "chain only" in err


def test_receipts_verify_from_the_command_line(tmp_path: Path) -> None:
    status, out, err = call("receipt", str(GOLDEN / "receipt.json"), "--key", KEY)
    assert status == 0 and "receipt for seq 12" in out and not err
    status, out, err = call("receipt", str(GOLDEN / "receipt.json"))
    assert status == 0 and "keys not pinned" in err
    forged = json.loads((GOLDEN / "receipt.json").read_bytes())
    forged["leaf_index"] = 11
    (tmp_path / "r.json").write_text(json.dumps(forged))
    status, out, _ = call("receipt", str(tmp_path / "r.json"), "--json")
    assert status == 1 and json.loads(out)["seq"] == 12
    (tmp_path / "bad.json").write_text("{")
    done = run("receipt", str(tmp_path / "bad.json"))
    assert done.returncode == 2 and "Traceback" not in done.stderr


def test_keys_can_come_from_a_file(tmp_path: Path) -> None:
    (tmp_path / "keys").write_text(f"# the log's published key\n{KEY}\n")
    status, out, err = call("verify", str(GOLDEN / "bundle"), "--keys-file",
                            str(tmp_path / "keys"), "--json")
    assert status == 0 and json.loads(out)["keys_pinned"] is True and not err
    (tmp_path / "empty").write_text("\n")
    assert call("verify", str(GOLDEN / "bundle"), "--keys-file", str(tmp_path / "empty"))[0] == 2


def test_usage_errors_exit_2() -> None:
    done = run("verify")
    assert done.returncode == 2 and "usage:" in done.stderr
