"""Ledger throughput, in one run, on PostgreSQL and SQLite.

Measures, per backend: the raw database's insert+commit rate (the ceiling, 1 and 16 writer
processes), ledger appends/s with 1 and 16 writer processes (1 and 100 records a
transaction), the sequencer's sealing rate, and the lag from append to seal with the
background sequencer running; then the offline verifier's records/s and peak memory on an
exported ledger of ``--verify-records`` records. ``--sealing-only`` measures the sealing rate
alone, ``--repeat`` times per backend: ``--scale`` records appended 100 a transaction, then
sealed (on a ledger that grows from one repeat to the next). ``--contended-only`` measures 16
writers at one row or record a transaction, raw and appends alternately. PostgreSQL runs
with ``fsync=off`` unless ``--durable``. Every writer process warms up (connects, runs its
statement once and rolls it back) before the clock starts.

    python3 -m uv run python benchmarks/ledger.py [--quick]
    python3 -m uv run python benchmarks/ledger.py --sealing-only --scale 40000 --repeat 5
    python3 -m uv run python benchmarks/ledger.py --contended-only --repeat 5 [--durable]

Run by hand; figures go to docs/benchmarks.md. Nothing here is a timed test.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select, text
from tests.support.postgres import throwaway_cluster

from oversight import db
from oversight.ledger import export, service
from oversight.ledger.actors import UserActor
from oversight.ledger.models import LedgerCheckpoint
from oversight.ledger.sealing import Sequencer, seal_all
from oversight_audit import SignerKey

ORIGIN = "bench.oversight/ledger"
ACTOR = UserActor(issuer="https://idp.example.com/realms/acme", subject="f3a1c2d4-5e6f-4a1b",
                  name="Dana DBA", roles=("dba", "operator"), acr="urn:acme:mfa",
                  amr=("pwd", "otp"), auth_time=1_764_000_000)
SUBJECT = {"graph": "sql_agent", "thread": "6f1d2c3b-0a9e-4f8d-b7c6-5a4b3c2d1e0f",
           "interrupt": "a1b2c3d4e5f60718293a4b5c6d7e8f90", "approval": "018f2b3c-4d5e"}
PAYLOAD = {"query": "DELETE FROM users WHERE last_login < '2025-01-01'", "database": "production"}
RAW_BODY = "x" * 600


def signer() -> SignerKey:
    return SignerKey(ORIGIN, Ed25519PrivateKey.from_private_bytes(b"\x01" * 32))


def say(message: str) -> None:
    print(message, flush=True)


# ---- workers (run in their own processes) ------------------------------------------------

def _raw_writer(url: str, count: int, barrier: Any, out: Any) -> None:
    engine = db.create_db_engine(url)
    with engine.connect() as conn:  # warm up (connection, compiled statement), keep nothing
        conn.execute(text("INSERT INTO bench_raw (body) VALUES (:body)"), {"body": RAW_BODY})
        conn.rollback()
    barrier.wait()
    start = time.perf_counter()
    for _ in range(count):
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO bench_raw (body) VALUES (:body)"), {"body": RAW_BODY})
    out.put(time.perf_counter() - start)


def _append(session: Any) -> None:
    service.append_record(session, action="decision.recorded", actor=ACTOR, subject=SUBJECT,
                          data={"outcome": "approve"}, payload=PAYLOAD,
                          policy="sha256:" + "ab" * 32)


def _append_writer(url: str, count: int, per_tx: int, barrier: Any, out: Any) -> None:
    factory = db.session_factory(db.create_db_engine(url))
    with factory() as session:  # warm up (connection, mappers, compiled insert), keep nothing
        session.begin()
        _append(session)
        service.write_appended(session)
        session.rollback()
    barrier.wait()
    start = time.perf_counter()
    done = 0
    while done < count:
        with factory() as session, session.begin():
            for _ in range(min(per_tx, count - done)):
                _append(session)
                done += 1
    out.put(time.perf_counter() - start)


def run_parallel(target: Any, processes: int, args: tuple[Any, ...], total: int) -> float:
    """Start ``processes`` workers together; return records per second over the wall time."""
    ctx = mp.get_context("spawn")
    barrier, out = ctx.Barrier(processes + 1), ctx.Queue()
    workers = [ctx.Process(target=target, args=(*args, barrier, out)) for _ in range(processes)]
    for worker in workers:
        worker.start()
    barrier.wait()
    start = time.perf_counter()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - start
    if any(w.exitcode != 0 for w in workers):
        raise RuntimeError("a benchmark worker failed")
    return total / elapsed


# ---- measurements --------------------------------------------------------------------------

def prepare(url: str) -> Any:
    db.upgrade(url)
    engine = db.create_db_engine(url)
    with engine.begin() as conn:
        ident = "BIGSERIAL" if db.is_postgres(engine) else "INTEGER"
        conn.execute(text(f"CREATE TABLE IF NOT EXISTS bench_raw (id {ident} PRIMARY KEY, body TEXT)"))
    return engine


def measure_contended(name: str, url: str, scale: int, repeat: int) -> None:
    """16 writers, one row or record a transaction: raw and appends alternately, ``repeat``
    times; each pair's ratio and the median."""
    say(f"\n== {name}: 16 writers, one a transaction, alternately ==")
    prepare(url).dispose()
    count = max(scale // 16, 50)
    ratios = []
    for n in range(1, repeat + 1):
        raw = run_parallel(_raw_writer, 16, (url, count), count * 16)
        appended = run_parallel(_append_writer, 16, (url, count, 1), count * 16)
        ratios.append(appended / raw)
        say(f"{n}: raw {raw:7.0f} rows/s, appends {appended:7.0f} records/s: {ratios[-1]:.2f}x")
    say(f"median {statistics.median(ratios):.2f}x (range {min(ratios):.2f}-{max(ratios):.2f}x)")


def measure_backend(name: str, url: str, scale: int, batch_size: int) -> dict[str, float]:
    say(f"\n== {name} ==")
    engine = prepare(url)
    factory = db.session_factory(engine)
    figures: dict[str, float] = {}
    per_writer = max(scale // 16, 50)
    for writers in (1, 16):
        count = per_writer * (16 if writers == 1 else 1)
        rate = run_parallel(_raw_writer, writers, (url, count), count * writers)
        figures[f"raw insert+commit/s, {writers} writers"] = rate
        say(f"raw insert+commit, {writers:2d} writers: {rate:9.0f} rows/s")
    for writers in (1, 16):
        for per_tx in (1, 100):
            count = per_writer * (16 if writers == 1 else 1) * (10 if per_tx == 100 else 1)
            rate = run_parallel(_append_writer, writers, (url, count, per_tx), count * writers)
            figures[f"appends/s, {writers} writers, {per_tx}/tx"] = rate
            say(f"appends, {writers:2d} writers, {per_tx:3d} per tx: {rate:9.0f} records/s")
    queued = _count_queue(factory)
    start = time.perf_counter()
    sealed = seal_all(factory, signer=signer(), origin=ORIGIN, batch_size=batch_size)
    seal_rate = sealed / (time.perf_counter() - start)
    figures["sealing records/s"] = seal_rate
    say(f"sealing: {sealed} queued records ({queued}) at {seal_rate:9.0f} records/s")
    figures.update(measure_lag(factory, url))
    engine.dispose()
    return figures


def measure_sealing(name: str, url: str, records: int, repeat: int,
                    batch_size: int) -> dict[str, float]:
    """Append ``records`` (100 a transaction, one process), seal them; ``repeat`` times."""
    say(f"\n== {name}: sealing only ==")
    db.upgrade(url)
    engine = db.create_db_engine(url)
    factory = db.session_factory(engine)
    rates = []
    for _ in range(repeat):
        done = 0
        while done < records:
            with factory() as session, session.begin():
                for _ in range(min(100, records - done)):
                    service.append_record(session, action="decision.recorded", actor=ACTOR,
                                          subject=SUBJECT, data={"outcome": "approve"},
                                          payload=PAYLOAD, policy="sha256:" + "ab" * 32)
                    done += 1
        start = time.perf_counter()
        sealed = seal_all(factory, signer=signer(), origin=ORIGIN, batch_size=batch_size)
        rates.append(sealed / (time.perf_counter() - start))
        say(f"sealing: {sealed} records at {rates[-1]:9.0f} records/s")
    engine.dispose()
    say(f"sealing, batches of {batch_size}: {min(rates):.0f}-{max(rates):.0f} records/s, "
        f"median {statistics.median(rates):.0f}")
    return {"sealing records/s": statistics.median(rates)}


def _count_queue(factory: Any) -> int:
    with factory() as session:
        return service.pending_count(session)


def measure_lag(factory: Any, url: str) -> dict[str, float]:
    """Append at a steady pace with the background sequencer on; lag = checkpoint - append."""
    sequencer = Sequencer(factory, signer=signer(), origin=ORIGIN, interval=0.25)
    sequencer.start()
    with factory() as session:
        start_size = service.tree_size(session)
    appended: list[float] = []
    for _ in range(200):
        with factory() as session, session.begin():
            service.append_record(session, action="approval.viewed", actor=ACTOR,
                                  subject=SUBJECT)
        appended.append(time.time())
        time.sleep(0.01)
    sequencer.stop(final_seal=False)
    time.sleep(0.1)
    with factory() as session:
        checkpoints = session.execute(
            select(LedgerCheckpoint.tree_size, LedgerCheckpoint.created_at)
            .where(LedgerCheckpoint.tree_size > start_size)
            .order_by(LedgerCheckpoint.tree_size)).all()
    lags = []
    for i, at in enumerate(appended):
        seq = start_size + i
        covering = next((c for c in checkpoints if c.tree_size > seq), None)
        if covering is not None:
            lags.append(covering.created_at.timestamp() - at)
    lags.sort()
    p50, p95 = statistics.median(lags), lags[int(len(lags) * 0.95) - 1]
    say(f"append-to-checkpoint lag (sequencer every 0.25 s): p50 {p50 * 1000:.0f} ms, "
        f"p95 {p95 * 1000:.0f} ms, max {lags[-1] * 1000:.0f} ms")
    return {"lag p50 ms": p50 * 1000, "lag p95 ms": p95 * 1000}


def measure_verifier(records: int) -> None:
    """Fill a SQLite ledger through the real append and seal path, export, verify offline."""
    say(f"\n== offline verifier on {records:,} records ==")
    with tempfile.TemporaryDirectory(prefix="oversight-bench-") as tmp:
        url = f"sqlite:///{tmp}/ledger.db"
        db.upgrade(url)
        factory = db.session_factory(db.create_db_engine(url))
        done = 0
        start = time.perf_counter()
        while done < records:
            with factory() as session, session.begin():
                for _ in range(min(1000, records - done)):
                    service.append_record(session, action="decision.recorded", actor=ACTOR,
                                          subject=SUBJECT, data={"n": done}, payload=PAYLOAD)
                    done += 1
            if done % 50_000 == 0 or done == records:
                seal_all(factory, signer=signer(), origin=ORIGIN, batch_size=5000)
                say(f"  appended and sealed {done:,} ({time.perf_counter() - start:.0f} s)")
        out = Path(tmp) / "bundle"
        with factory() as session:
            export.export_bundle(session, out, origin=ORIGIN, keys=[signer().verifier_key()])
        say(f"  exported ({time.perf_counter() - start:.0f} s); verifying in a fresh process")
        code = (
            "import resource,sys,time;from oversight_audit import verify_bundle;"
            "t=time.perf_counter();r=verify_bundle(sys.argv[1],keys=None);"
            "e=time.perf_counter()-t;"
            "print(r.record_count,e,resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
        )
        line = subprocess.run([sys.executable, "-c", code, str(out)], check=True,
                              capture_output=True, text=True).stdout.split()
        count, seconds, rss_kb = int(line[0]), float(line[1]), int(line[2])
        say(f"offline verify: {count:,} records in {seconds:.1f} s = {count / seconds:,.0f} "
            f"records/s on one core; peak RSS {rss_kb / 1024:.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small counts, for a smoke run")
    parser.add_argument("--scale", type=int, default=8000, help="records per measurement")
    parser.add_argument("--verify-records", type=int, default=1_000_000)
    parser.add_argument("--sealing-only", action="store_true",
                        help="measure only the sealing rate, --repeat times per backend")
    parser.add_argument("--repeat", type=int, default=3,
                        help="repeats with --sealing-only and --contended-only")
    parser.add_argument("--batch-size", type=int, default=5000, help="sequencer batch size")
    parser.add_argument("--contended-only", action="store_true",
                        help="measure only 16 writers at one a transaction, raw and appends "
                        "alternately, --repeat times per backend")
    parser.add_argument("--durable", action="store_true",
                        help="PostgreSQL flushes every commit to disk (its defaults) instead of "
                        "fsync=off and synchronous_commit=off")
    args = parser.parse_args()
    scale = 800 if args.quick else args.scale
    verify_records = 20_000 if args.quick else args.verify_records
    results: dict[str, dict[str, float]] = {}
    if args.contended_only:
        with throwaway_cluster(durable=args.durable) as server:
            measure_contended("PostgreSQL", server.create_database("bench"), scale, args.repeat)
        with tempfile.TemporaryDirectory() as tmp:
            measure_contended("SQLite", f"sqlite:///{tmp}/bench.db", scale, args.repeat)
        return
    if args.sealing_only:
        with throwaway_cluster() as server:
            measure_sealing("PostgreSQL", server.create_database("bench"), scale, args.repeat,
                            args.batch_size)
        with tempfile.TemporaryDirectory() as tmp:
            measure_sealing("SQLite", f"sqlite:///{tmp}/bench.db", scale, args.repeat,
                            args.batch_size)
        return
    with throwaway_cluster(durable=args.durable) as server:
        results["PostgreSQL"] = measure_backend("PostgreSQL", server.create_database("bench"), scale,
                                                args.batch_size)
    with tempfile.TemporaryDirectory() as tmp:
        results["SQLite"] = measure_backend("SQLite", f"sqlite:///{tmp}/bench.db", scale,
                                            args.batch_size)
    say("\n== ratios (appends with 16 writers / raw insert+commit with 16 writers) ==")
    for backend, figures in results.items():
        raw = figures["raw insert+commit/s, 16 writers"]
        for per_tx in (1, 100):
            ratio = figures[f"appends/s, 16 writers, {per_tx}/tx"] / raw
            say(f"{backend}: {per_tx}/tx: {ratio:.2f}x")
    measure_verifier(verify_records)


if __name__ == "__main__":
    main()
