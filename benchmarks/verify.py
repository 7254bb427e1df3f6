"""How fast does the offline verifier check a bundle, and does its memory stay flat?

Run by hand from the repository root::

    python3 -m uv run python benchmarks/verify.py                 # 100,000 and 1,000,000 records
    python3 -m uv run python benchmarks/verify.py --sizes 20000   # a quick look
    python3 -m uv run python benchmarks/verify.py --profile       # where the time goes
    python3 -m uv run python benchmarks/verify.py --repeat 5      # five runs each, and the range

Each bundle is generated once in a temporary directory (with a progress line): a realistic
mix of system and user records, ~2 in 7 committing to a payload, one in ten of those
payloads stored, a checkpoint every 5,000 records as the sequencer's batches would sign.
``verify_bundle`` then runs in a fresh subprocess pinned to one CPU, which reports its wall
and CPU time and its peak resident memory (``ru_maxrss``), so sizes can be compared; then
again with ``payloads/`` removed, which leaves the hot path alone (lines, canonical checks,
hashes, tree, checkpoints). Records per second are computed from CPU time, which a busy
machine disturbs less than wall time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from oversight_audit import (
    GENESIS_PREV,
    BundleWriter,
    Checkpoint,
    CompactRange,
    SignerKey,
    finalize_record,
    leaf_hash,
    payload_digest,
    sign_checkpoint,
)

ORIGIN = "bench.oversight.example/ledger"
CHECKPOINT_EVERY = 5000
START = dt.datetime(2026, 11, 25, 4, 0, 0, tzinfo=dt.UTC)
USERS = [
    {"type": "user", "iss": "https://login.example.com/realms/acme", "sub": f"user-{n:04d}",
     "name": f"Approver {n}", "roles": ["approver", "finance"], "acr": "urn:acme:mfa",
     "amr": ["otp", "pwd"], "auth_time": 1795665600 + n}
    for n in range(40)
]
POLICY = "sha256:" + hashlib.sha256(b"policies").hexdigest()


def _fields(seq: int) -> tuple[dict[str, Any], Any]:
    flow, step = divmod(seq, 7)
    subject = {"graph": "payments", "thread": f"7f1c{flow:08x}-2b3c-4d5e-8f90-1a2b3c4d5e6f",
               "interrupt": hashlib.md5(b"%d" % flow, usedforsecurity=False).hexdigest(),
               "approval": f"01JA{flow:022d}" if step >= 3 else None}
    actor: dict[str, Any] = {"type": "system", "id": "system:gateway"}
    action, data, payload = "run.started", {}, None
    if step == 1:
        action = "interrupt.raised"
        payload = {"tool": "transfer", "amount": flow % 10000, "iban": f"DE{flow:020d}"}
    elif step == 2:
        actor, action = {"type": "system", "id": "system:policy"}, "policy.evaluated"
        data = {"outcome": "require", "rule": "payments.large-transfer", "quorum": 2}
    elif step == 3:
        actor, action = {"type": "system", "id": "system:approvals"}, "approval.requested"
        data = {"deadline_s": 3600}
    elif step in (4, 5):
        actor = USERS[flow % len(USERS)]
        action = "approval.viewed" if step == 4 else "decision.recorded"
        if step == 5:
            data, payload = {"outcome": "approved"}, {"decision": "approve", "comment": "ok"}
    elif step == 6:
        actor, action, data = {"type": "system", "id": "system:runner"}, "resume.applied", {}
    moment = START + dt.timedelta(milliseconds=seq * 37)
    key = hashlib.sha256(b"k%d" % seq).digest()
    return {
        "time": moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "actor": actor, "action": action, "subject": subject,
        "payload_digest": None if payload is None else payload_digest(key, payload),
        "policy": POLICY, "data": data,
    }, (None if payload is None else (key, payload))


def generate(path: Path, count: int) -> None:
    """Write a ``count``-record bundle to ``path``, printing progress."""
    signer = SignerKey(ORIGIN, Ed25519PrivateKey.from_private_bytes(b"\x07" * 32))
    writer = BundleWriter(path)
    tree, prev, note = CompactRange(), GENESIS_PREV, ""
    started = time.perf_counter()
    for seq in range(count):
        fields, stored = _fields(seq)
        record, line = finalize_record(fields, seq=seq, prev=prev)
        writer.write_record(line)
        tree.append(leaf_hash(line))
        prev = record["hash"]
        if stored is not None and seq % 10 == 1:
            writer.write_payload(seq, *stored)
        if (seq + 1) % CHECKPOINT_EVERY == 0 or seq + 1 == count:
            note = sign_checkpoint(Checkpoint(ORIGIN, seq + 1, tree.root(), prev), [signer])
            if seq + 1 < count:
                writer.write_checkpoint(note)
        if seq % 20000 == 0 or seq + 1 == count:
            rate = (seq + 1) / (time.perf_counter() - started)
            print(f"\r  generating {seq + 1:>9,}/{count:,} records ({rate:,.0f}/s)", end="",
                  file=sys.stderr, flush=True)
    print(file=sys.stderr)
    writer.close(origin=ORIGIN, first_seq=0, last_seq=count - 1, prefix=[], checkpoint=note,
                 checkpoint_size=count, tail_proof=[], keys=[signer.verifier_key()],
                 exported_at=dt.datetime.now(dt.UTC))


def _child(path: str, profile: bool) -> None:
    """In the measuring subprocess: one CPU, verify, print wall time and peak memory."""
    import resource

    from oversight_audit import verify_bundle

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    if profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
    started, cpu_started = time.perf_counter(), time.process_time()
    report = verify_bundle(path)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    if profile:
        profiler.disable()
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(15)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"hwm_kib": _vm_hwm_kib(),"records": report.record_count, "seconds": seconds, "cpu": cpu,
                      "checkpoints": report.checkpoints_verified,
                      "payloads": report.payloads_verified, "peak_kib": peak_kib}))


def _megabytes(path: Path) -> float:
    """The bundle's size, summed while scanning (no list of 10^5 paths in this process)."""
    total = 0
    for folder, _, names in os.walk(path):
        for name in names:
            total += os.stat(os.path.join(folder, name)).st_size
    return total / 1e6


def _vm_hwm_kib() -> int | None:
    """Linux's own peak RSS of this process image (``VmHWM``), unaffected by the parent."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def measure(path: Path, profile: bool) -> dict[str, Any]:
    """Verify ``path`` in a fresh interpreter and return its figures."""
    done = subprocess.run([sys.executable, __file__, "--child", str(path)]
                          + (["--profile"] if profile else []),
                          check=True, capture_output=True, text=True)
    if profile:
        print(done.stderr, file=sys.stderr)
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def main() -> None:
    """Generate, verify and print one line per size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--profile", action="store_true", help="print a cProfile of verify")
    parser.add_argument("--repeat", type=int, default=1, metavar="N",
                        help="verify each bundle N times, each in a fresh process, and print "
                             "the range (a shared machine's load varies between runs)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--generate", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.profile)
        return
    if args.generate:
        generate(Path(args.generate[0]), int(args.generate[1]))
        return
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; verify on one core")
    with tempfile.TemporaryDirectory(prefix="oversight-bench-") as tmp:
        for count in args.sizes:
            path = Path(tmp) / f"bundle-{count}"
            # Generate in a subprocess too: ru_maxrss survives fork and exec on Linux, so a
            # parent grown by generating would show up as the verifier's peak.
            subprocess.run([sys.executable, __file__, "--generate", str(path), str(count)],
                           check=True)
            size_mb = _megabytes(path)
            for label in ("with payloads", "records only"):
                if label == "records only":  # the hot path alone: lines, hashes, tree, notes
                    shutil.rmtree(path / "payloads")
                rates = []
                for _ in range(args.repeat):
                    result = measure(path, args.profile)
                    rates.append(result["records"] / result["cpu"])
                    print(f"{count:>10,} records, {label:<13} ({size_mb:,.0f} MB,"
                          f" {result['checkpoints']} checkpoints, {result['payloads']:,} payloads):"
                          f" {result['seconds']:.2f} s wall, {result['cpu']:.2f} s CPU ="
                          f" {rates[-1]:,.0f} records/s per core,"
                          f" peak RSS {result['peak_kib'] / 1024:.1f} MiB"
                          f" (VmHWM {(result['hwm_kib'] or 0) / 1024:.1f} MiB)", flush=True)
                if len(rates) > 1:
                    print(f"{count:>10,} records, {label:<13} {len(rates)} runs:"
                          f" {min(rates):,.0f} to {max(rates):,.0f} records/s per core,"
                          f" median {statistics.median(rates):,.0f}", flush=True)


if __name__ == "__main__":
    main()
