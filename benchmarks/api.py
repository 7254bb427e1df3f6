"""The API under load on loopback, with PostgreSQL: decisions/s end to end (decide + resume)
and the p95 latency of ``GET /v1/approvals`` with many pending requests.

    python3 -m uv run python benchmarks/api.py [--pending 100000] [--decisions 300]

Bounded in count and time; traffic goes to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx
from langgraph.types import Command
from sqlalchemy import insert, text
from tests.support.oidc import JwtIssuer
from tests.support.postgres import throwaway_cluster

from gateway import INPUT as RAW_INPUT  # benchmarks/gateway.py: the raw three-node graph
from gateway import raw_graph
from oversight import db
from oversight.approvals.models import ApprovalRequest
from oversight.demo.web import DEMO_CHANNELS
from oversight.gateway.checkpointer import open_checkpointer
from oversight.gateway.models import Thread

REQUIREMENT = json.dumps({"approvers": [{"role": "dba", "count": 1}], "deadline": "PT4H"})


def fill(url: str, count: int) -> None:
    """Bulk-insert ``count`` pending requests (one thread each) for the list benchmark."""
    engine = db.create_db_engine(url)
    now = dt.datetime.now(dt.UTC)
    for start in range(0, count, 10_000):
        threads, requests = [], []
        for i in range(start, min(start + 10_000, count)):
            thread_id = str(uuid.uuid4())
            threads.append({"id": thread_id, "graph": "bulk", "status": "waiting",
                            "created_at": now, "updated_at": now})
            requests.append({
                "id": str(uuid.uuid4()), "thread_id": thread_id, "interrupt_id": f"i{i}",
                "part": 0, "parts": 1, "graph": "bulk", "node": "review",
                "action": "sql.execute", "shape": "oversight", "summary": None,
                "payload": '{"query":"DELETE"}', "payload_digest": "sha256:x",
                "original_digest": "sha256:x", "status": "pending", "policy_version": "v",
                "rule_id": "bulk", "requirement": REQUIREMENT, "escalation_step": 0,
                "created_at": now - dt.timedelta(seconds=i), "deadline_at": now})
        with engine.begin() as conn:
            conn.execute(insert(Thread), threads)
            conn.execute(insert(ApprovalRequest), requests)
        print(f"  {min(start + 10_000, count):,} pending requests inserted", flush=True)
    with engine.begin() as conn:  # what autovacuum does after a bulk load
        conn.execute(text("ANALYZE approval_request"))
    engine.dispose()


async def decisions(bases: list[str], issuer: JwtIssuer, count: int, clients: int) -> float:
    """Decisions/s with ``clients`` concurrent approvers; with several servers (replicas on
    one database) the threads are started and the approvers spread across them in turn."""
    riley = {"Authorization": "Bearer " + issuer.mint("riley", roles=["requester"], amr=["pwd"])}
    dana = {"Authorization": "Bearer " + issuer.mint("dana", roles=["dba"], amr=["pwd", "mfa"])}
    servers = [httpx.AsyncClient(base_url=base, timeout=60) for base in bases]
    try:
        pending = []
        for n in range(count):
            client = servers[n % len(servers)]
            started = await client.post("/v1/threads", headers=riley, json={
                "graph": "sql_agent", "input": {"request": "delete users", "database": "staging"}})
            approval = started.json()["pending"][0]["id"]
            shown = (await client.get(f"/v1/approvals/{approval}", headers=dana)).json()
            pending.append((approval, shown["payload_digest"]))
        queue = list(pending)
        began = time.perf_counter()

        async def worker(client: httpx.AsyncClient) -> None:
            while queue:
                approval, digest = queue.pop()
                response = await client.post(f"/v1/approvals/{approval}/decision", headers=dana,
                                             json={"decision": "approve",
                                                   "payload_digest": digest})
                assert response.status_code == 200 and response.json()["final"], response.text
        await asyncio.gather(*(worker(servers[n % len(servers)]) for n in range(clients)))
        return count / (time.perf_counter() - began)
    finally:
        for client in servers:
            await client.aclose()


async def raw_resumes(url: str, count: int, clients: int) -> float:
    """Raw LangGraph on the same PostgreSQL: ``count`` threads of the same three-node graph
    waiting in its ``interrupt()``, resumed by ``clients`` concurrent callers (the work a
    decision end to end does, without Oversight)."""
    async with open_checkpointer(url, pool_size=clients + 2) as checkpointer:
        graph = raw_graph().compile(checkpointer=checkpointer)
        waiting = []
        for _ in range(count):
            config: Any = {"configurable": {"thread_id": str(uuid.uuid4())}}
            result = await graph.ainvoke(RAW_INPUT, config)
            waiting.append((config, result["__interrupt__"][0].id))
        began = time.perf_counter()

        async def worker() -> None:
            while waiting:
                config, interrupt_id = waiting.pop()
                done = await graph.ainvoke(Command(resume={interrupt_id: "approved"}), config)
                assert done["result"].startswith("executed")
        await asyncio.gather(*(worker() for _ in range(clients)))
        return count / (time.perf_counter() - began)


def list_latency(base: str, issuer: JwtIssuer, rounds: int) -> tuple[float, float]:
    dana = {"Authorization": "Bearer " + issuer.mint("dana", roles=["dba"], amr=["pwd"])}
    timings = []
    with httpx.Client(base_url=base, timeout=60) as client:
        cursor = None
        for _ in range(rounds):
            params = {"limit": "50", **({"cursor": cursor} if cursor else {})}
            began = time.perf_counter()
            page = client.get("/v1/approvals", headers=dana, params=params)
            timings.append(time.perf_counter() - began)
            cursor = page.json()["next_cursor"]
    timings.sort()
    return statistics.median(timings) * 1000, timings[int(len(timings) * 0.95) - 1] * 1000


@contextlib.contextmanager
def serve_process(url: str, issuer: JwtIssuer, home: str) -> Iterator[str]:
    """``oversight serve`` in its own process, as in production (a server in a thread of the
    load generator shares its GIL, which adds tens of milliseconds to every response)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("OVERSIGHT_")},
           "OVERSIGHT_HOME": home, "OVERSIGHT_DATABASE_URL": url,
           "OVERSIGHT_OIDC_ISSUER": issuer.url, "OVERSIGHT_OIDC_CLIENT_ID": issuer.client_id,
           "OVERSIGHT_OIDC_CLIENT_SECRET": issuer.client_secret, "OVERSIGHT_COOKIE_SECURE": "false",
           "OVERSIGHT_GRAPHS": json.dumps({"sql_agent": "oversight.demo.graphs:sql_agent"}),
           "OVERSIGHT_POLICY_RELOAD_SECONDS": "0", "OVERSIGHT_SWEEPER_ENABLED": "false",
           "OVERSIGHT_LOG_LEVEL": "WARNING", "OVERSIGHT_LOG_FORMAT": "json",
           "OVERSIGHT_SESSION_SECRET": "bench-session-secret",
           # the shipped rules notify these channels: configured, as in a deployment
           "OVERSIGHT_NOTIFY_CHANNELS": json.dumps({
               name: {"kind": "log"} for name in DEMO_CHANNELS})}
    process = subprocess.Popen([sys.executable, "-m", "oversight.cli", "serve", "--port", str(port)],
                               env=env, cwd=home)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pending", type=int, default=100_000)
    parser.add_argument("--decisions", type=int, default=300)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--langgraph-api", metavar="URL",
                        help="also run the cycle against LangGraph's own server at URL "
                        "(`langgraph dev` with a graph 'agent' that interrupts once)")
    parser.add_argument("--cycles", type=int, default=100)
    parser.add_argument("--replicas", type=int, default=1,
                        help="also measure decisions with this many servers on one database")
    args = parser.parse_args()
    with throwaway_cluster() as server, JwtIssuer.running() as issuer, \
            tempfile.TemporaryDirectory() as home:
        url = server.create_database("bench")
        db.upgrade(url)
        raw = asyncio.run(raw_resumes(server.create_database("raw"), args.decisions,
                                      args.clients))
        print(f"raw LangGraph resumes of the same graph, {args.clients} clients: {raw:.1f}/s",
              flush=True)
        with contextlib.ExitStack() as servers:
            homes = [Path(home, f"replica-{n}") for n in range(max(1, args.replicas))]
            for path in homes:
                path.mkdir()
            bases = [servers.enter_context(serve_process(url, issuer, str(path)))
                     for path in homes]
            base = bases[0]
            if args.langgraph_api:
                ours = oversight_cycles(base, issuer, args.cycles)
                theirs = langgraph_api_cycles(args.langgraph_api, args.cycles)
                print(f"cycle over HTTP, one client: Oversight {ours:.1f}/s, langgraph-api "
                      f"{theirs:.1f}/s (ratio {theirs / ours:.2f}x)", flush=True)
            for replicas in sorted({1, len(bases)}):
                rate = asyncio.run(decisions(bases[:replicas], issuer, args.decisions,
                                             args.clients))
                print(f"decisions end to end (decide + resume), {args.clients} clients, "
                      f"{replicas} server(s): {rate:.1f}/s ({rate / raw:.2f}x raw resumes)",
                      flush=True)
            fill(url, args.pending)
            median, p95 = list_latency(base, issuer, 200)
            print(f"GET /v1/approvals (50 a page, {args.pending:,} pending, as a DBA): "
                  f"median {median:.1f} ms, p95 {p95:.1f} ms", flush=True)
            health, _ = probe_latency(base)
            print(f"GET /healthz (no database, no token): median {health:.1f} ms", flush=True)


def oversight_cycles(base: str, issuer: JwtIssuer, count: int) -> float:
    """Start → interrupt → (the approver opens it) → approve → resumed to the end, over HTTP."""
    riley = {"Authorization": "Bearer " + issuer.mint("riley", roles=["requester"], amr=["pwd"])}
    dana = {"Authorization": "Bearer " + issuer.mint("dana", roles=["dba"], amr=["pwd"])}
    with httpx.Client(base_url=base, timeout=60) as client:
        began = time.perf_counter()
        for _ in range(count):
            started = client.post("/v1/threads", headers=riley, json={
                "graph": "sql_agent", "input": {"request": "delete users", "database": "staging"}})
            approval = started.json()["pending"][0]["id"]
            digest = client.get(f"/v1/approvals/{approval}", headers=dana).json()["payload_digest"]
            decided = client.post(f"/v1/approvals/{approval}/decision", headers=dana,
                                  json={"decision": "approve", "payload_digest": digest})
            assert decided.json()["final"], decided.text
        return count / (time.perf_counter() - began)


def langgraph_api_cycles(base: str, count: int) -> float:
    """The same cycle on LangGraph's own server: a thread, a run to the interrupt, a resume."""
    with httpx.Client(base_url=base, timeout=60) as client:
        began = time.perf_counter()
        for _ in range(count):
            thread = client.post("/threads", json={}).json()["thread_id"]
            first = client.post(f"/threads/{thread}/runs/wait", json={
                "assistant_id": "agent", "input": {"request": "delete users"}}).json()
            assert "__interrupt__" in first, first
            done = client.post(f"/threads/{thread}/runs/wait", json={
                "assistant_id": "agent", "command": {"resume": "approved"}}).json()
            assert done.get("result") == "executed", done
        return count / (time.perf_counter() - began)


def probe_latency(base: str, rounds: int = 100) -> tuple[float, float]:
    timings = []
    with httpx.Client(base_url=base, timeout=60) as client:
        for _ in range(rounds):
            began = time.perf_counter()
            client.get("/healthz")
            timings.append(time.perf_counter() - began)
    timings.sort()
    return statistics.median(timings) * 1000, timings[int(len(timings) * 0.95) - 1] * 1000


if __name__ == "__main__":
    main()
