"""The sweeper on PostgreSQL: finding due requests at scale, and resuming against raw LangGraph.

Scale: ``--pending`` pending request rows, each with its thread and, in the checkpointer's
own tables, a latest checkpoint holding its ``__interrupt__`` write, all inserted in bulk
(``COPY``); ``--overdue`` of them are past their deadline under ``on_timeout: expire``. Timed:
a pass with nothing due (deadline steps only, and with one drift-scan page), the pass that
expires every overdue request (each checked against the checkpointer first), and a pass with
nothing due afterwards.

Resumes: ``2 × --threads`` real threads of a two-node graph waiting in ``request_approval``.
Raw LangGraph resumes half of them with ``Command(resume={id: value})``; the sweeper rejects
the other half on timeout and resumes them through the gateway's resume jobs (claim, pending
check against the checkpointer, resume, registration, ledger). Same checkpointer, same run,
same concurrency.

    python3 -m uv run python benchmarks/sweeper.py                 # the full issue scale
    python3 -m uv run python benchmarks/sweeper.py --pending 100000 --overdue 10000 \
        --threads 1000                                              # reduced
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import functools
import json
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any, Literal

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg
from langgraph.types import Command, Interrupt
from sqlalchemy import func, select
from tests.gateway import graphs
from tests.support.postgres import throwaway_cluster

from oversight import db
from oversight.gateway.adapters import MARKER
from oversight.gateway.checkpointer import open_checkpointer
from oversight.gateway.models import Thread
from oversight.gateway.request import clear_marks
from oversight.gateway.service import Gateway
from oversight.logs import configure_logging
from oversight.policy.outcomes import ApproverGroup, Requirement, TimeoutPolicy
from oversight.sweeper import Sweeper

T0 = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)
SENTINEL = "f" * 32


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def requirement(then: Literal["reject", "expire"]) -> str:
    return json.dumps(Requirement(approvers=(ApproverGroup(role="dba"),),
                                  deadline=dt.timedelta(minutes=10),
                                  on_timeout=TimeoutPolicy(then=then)).model_dump(mode="json"))


def copy_rows(conn: psycopg.Connection[Any], table: str, columns: str,
              rows: Iterable[tuple[Any, ...]]) -> None:
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def bulk_waiting(url: str, serde: Any, *, count: int, overdue: int) -> None:
    """``count`` waiting threads with one pending request each, ``overdue`` of them due."""
    blob_type, template = serde.dumps_typed((Interrupt(value={"n": 1}, id=SENTINEL),))
    expire = requirement("expire")
    ids = [(str(uuid.uuid4()), uuid.uuid4().hex) for _ in range(count)]
    deadlines = [T0 - dt.timedelta(seconds=1 + n % 3600) if n < overdue
                 else T0 + dt.timedelta(days=1, seconds=n % 86400) for n in range(count)]
    with psycopg.connect(db.libpq_url(url)) as conn:
        copy_rows(conn, "thread", "id, graph, status, created_at, updated_at",
                  ((t, "ask", "waiting", T0 - dt.timedelta(hours=1), T0 - dt.timedelta(hours=1))
                   for t, _ in ids))
        copy_rows(conn, "approval_request",
                  "id, thread_id, interrupt_id, part, parts, graph, node, action, shape, payload, "
                  "payload_digest, original_digest, status, policy_version, rule_id, "
                  "requirement, created_at, deadline_at",
                  ((str(uuid.uuid4()), t, i, 0, 1, "ask", "ask", "deploy.expire", "oversight",
                    "{}", "sha256:0", "sha256:0", "pending", "sha256:bench", "timeout-expire",
                    expire, d - dt.timedelta(minutes=10), d)
                   for (t, i), d in zip(ids, deadlines, strict=True)))
        checkpoint = json.dumps({"v": 4, "ts": T0.isoformat(), "channel_versions": {},
                                 "versions_seen": {}, "channel_values": {}})
        copy_rows(conn, "checkpoints", "thread_id, checkpoint_ns, checkpoint_id, checkpoint",
                  ((t, "", "1f000000-0000-6000-8000-000000000001", checkpoint) for t, _ in ids))
        copy_rows(conn, "checkpoint_writes",
                  "thread_id, checkpoint_ns, checkpoint_id, task_id, task_path, idx, channel, "
                  "type, blob",
                  ((t, "", "1f000000-0000-6000-8000-000000000001", str(uuid.uuid4()),
                    "~__pregel_pull, ask", -3, "__interrupt__", blob_type,
                    template.replace(SENTINEL.encode(), i.encode())) for t, i in ids))
        for table in ("thread", "approval_request", "checkpoints", "checkpoint_writes"):
            conn.execute(f"ANALYZE {table}")


async def timed(work: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = await work()
    return time.perf_counter() - started, result


async def scale(url: str, *, pending: int, overdue: int, batch: int, due_workers: int
                ) -> dict[str, Any]:
    engine = db.create_db_engine(url, pool_size=10)
    clock = Clock(T0 - dt.timedelta(hours=2))
    async with open_checkpointer(url) as checkpointer:
        started = time.perf_counter()
        await asyncio.to_thread(bulk_waiting, url, checkpointer.serde, count=pending,
                                overdue=overdue)
        loaded = time.perf_counter() - started
        gateway = Gateway(sessions=db.session_factory(engine), checkpointer=checkpointer,
                          evaluate=lambda event: None, clock=clock)  # type: ignore[arg-type, return-value]
        gateway.register("ask", graphs.ask_graph)
        sweeper = Sweeper(gateway, batch=batch, run_resumes=False, due_workers=due_workers)
        await sweeper.run_pass(scan=False)  # warm the pool
        idle = [(await timed(lambda: sweeper.run_pass(scan=False)))[0] for _ in range(5)]
        scanning = [(await timed(lambda: sweeper.run_pass(scan=True)))[0] for _ in range(5)]
        clock.now = T0
        seconds, summary = await timed(lambda: sweeper.run_pass(scan=False))
        after = [(await timed(lambda: sweeper.run_pass(scan=False)))[0] for _ in range(5)]
    engine.dispose()
    return {"pending": pending, "overdue": overdue, "batch": batch, "due_workers": due_workers,
            "load_s": round(loaded, 1),
            "idle_pass_ms": round(1000 * min(idle), 1),
            "idle_pass_with_scan_page_ms": round(1000 * min(scanning), 1),
            "due_pass_s": round(seconds, 2), "expired": summary.expired,
            "errors": summary.errors,
            "expired_per_s": round(summary.expired / seconds) if seconds else None,
            "idle_pass_after_ms": round(1000 * min(after), 1)}


async def gather_limited(jobs: list[Callable[[], Awaitable[Any]]], concurrency: int) -> list[Any]:
    gate = asyncio.Semaphore(concurrency)

    async def one(job: Callable[[], Awaitable[Any]]) -> Any:
        async with gate:
            return await job()

    return list(await asyncio.gather(*(one(job) for job in jobs)))


async def resumes(url: str, *, threads: int, batch: int, concurrency: int) -> dict[str, Any]:
    engine = db.create_db_engine(url, pool_size=max(10, 2 * concurrency))
    clock = Clock(T0)
    async with open_checkpointer(url, pool_size=max(10, 2 * concurrency)) as checkpointer:
        gateway = Gateway(sessions=db.session_factory(engine), checkpointer=checkpointer,
                          evaluate=lambda event: None, clock=clock)  # type: ignore[arg-type, return-value]
        gateway.register("ask", graphs.ask_graph)
        graph = gateway.registry.compiled("ask", checkpointer)
        payload = {"action": "deploy.reject", "payload": {"n": 1}}

        async def start(thread_id: str) -> str:
            result = await graph.ainvoke(payload, {"configurable": {"thread_id": thread_id}})
            clear_marks(thread_id)  # as the gateway does when it registers the interrupt
            return str(result["__interrupt__"][0].id)

        names = [str(uuid.uuid4()) for _ in range(2 * threads)]
        interrupts = await gather_limited([functools.partial(start, t) for t in names],
                                          concurrency)
        raw, ours = list(zip(names, interrupts, strict=True))[:threads], \
            list(zip(names, interrupts, strict=True))[threads:]
        await asyncio.to_thread(register_waiting, url, ours)
        value = {"oversight": MARKER, "outcome": "reject", "payload": {"n": 1},
                 "reason": "the deadline passed"}

        async def resume(thread_id: str, interrupt_id: str) -> None:
            await graph.ainvoke(Command(resume={interrupt_id: value}),
                                {"configurable": {"thread_id": thread_id}})

        raw_s, _ = await timed(lambda: gather_limited(
            [functools.partial(resume, t, i) for t, i in raw], concurrency))
        clock.now = T0 + dt.timedelta(minutes=11)
        rejecting = Sweeper(gateway, batch=batch, run_resumes=False)
        reject_s, rejected = await timed(lambda: rejecting.run_pass(scan=False))
        sweeper = Sweeper(gateway, batch=batch, resume_workers=concurrency)

        async def resume_all() -> int:
            ran = 0
            while True:
                summary = await sweeper.run_pass(scan=False)
                ran += summary.resumes_run
                if summary.resumes_run == 0:
                    return ran
        resume_s, resumed = await timed(resume_all)
        ours_s = reject_s + resume_s
        with gateway.sessions() as session:
            completed = session.scalar(select(func.count()).select_from(Thread)
                                       .where(Thread.status == "completed"))
    engine.dispose()
    return {"threads": threads, "concurrency": concurrency, "raw_resumes_per_s":
            round(threads / raw_s, 1), "sweeper_resumes_per_s": round(threads / ours_s, 1),
            "ratio": round(raw_s / ours_s, 2), "rejected": rejected.rejected,
            "reject_and_queue_s": round(reject_s, 2), "resume_s": round(resume_s, 2),
            "resumed": resumed, "completed": completed}


def register_waiting(url: str, threads: list[tuple[str, str]]) -> None:
    """What the gateway would have registered for these waiting threads (reject on timeout)."""
    reject = requirement("reject")
    payload = json.dumps({"n": 1})
    with psycopg.connect(db.libpq_url(url)) as conn:
        copy_rows(conn, "thread", "id, graph, status, created_at, updated_at",
                  ((t, "ask", "waiting", T0, T0) for t, _ in threads))
        copy_rows(conn, "approval_request",
                  "id, thread_id, interrupt_id, part, parts, graph, node, action, shape, payload, "
                  "payload_digest, original_digest, status, policy_version, rule_id, "
                  "requirement, created_at, deadline_at",
                  ((str(uuid.uuid4()), t, i, 0, 1, "ask", "ask", "deploy.reject", "oversight",
                    payload, "sha256:0", "sha256:0", "pending", "sha256:bench",
                    "timeout-reject", reject, T0, T0 + dt.timedelta(minutes=10))
                   for t, i in threads))
        conn.execute("ANALYZE approval_request")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", help="a PostgreSQL server's admin URL (default: a throwaway "
                                      "cluster)")
    parser.add_argument("--pending", type=int, default=1_000_000)
    parser.add_argument("--overdue", type=int, default=100_000)
    parser.add_argument("--threads", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, nargs="*", default=[1, 8],
                        help="concurrency of the resume comparison (none: skip it)")
    parser.add_argument("--due-workers", type=int, default=2,
                        help="batches of due requests in flight at once")
    parser.add_argument("--skip-scale", action="store_true")
    options = parser.parse_args()
    configure_logging("json", "WARNING")

    def fresh(admin: str) -> str:
        name = f"sweeper_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = admin.rsplit("/", 1)[0] + "/" + name
        db.upgrade(url)
        return url

    async def run(admin: str) -> None:
        if not options.skip_scale:
            print(json.dumps({"scale": await scale(
                fresh(admin), pending=options.pending, overdue=options.overdue,
                batch=options.batch, due_workers=options.due_workers)}), flush=True)
        for concurrency in options.concurrency:
            print(json.dumps({"resumes": await resumes(
                fresh(admin), threads=options.threads, batch=options.batch,
                concurrency=concurrency)}), flush=True)

    if options.url:
        await run(options.url)
    else:
        with throwaway_cluster() as server:
            await run(server.admin_url)


if __name__ == "__main__":
    asyncio.run(main())
