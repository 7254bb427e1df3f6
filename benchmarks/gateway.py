"""Full approval cycles, raw LangGraph against the gateway, on the same checkpointer.

A cycle: start the 3-node SQL agent (generate → review → execute) with a DELETE; it
interrupts in ``review``; a DBA approves; the graph resumes and ends. Raw LangGraph does the
same with ``interrupt()`` and ``Command(resume={id: value})``, with no policy, no request
rows, no ledger. The gateway does it all (policy, request, decision checks, resume job,
ledger appends), with the background sequencer sealing. Both on SQLite and PostgreSQL, with
1 and 16 concurrent clients, in one run. Each line reports the median latency, the
throughput and the process's CPU time a cycle (steadier than wall time on a shared machine,
and what bounds one server's throughput).

    python3 -m uv run python benchmarks/gateway.py [--cycles 200]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from langgraph.graph import StateGraph
from langgraph.types import Command, interrupt
from tests.support.postgres import throwaway_cluster

from oversight import db
from oversight.demo import graphs as demo
from oversight.demo.users import demo_user
from oversight.gateway.checkpointer import open_checkpointer
from oversight.gateway.runtime import shipped_policies
from oversight.gateway.service import Gateway
from oversight.ledger.sealing import Sequencer
from oversight.logs import configure_logging
from oversight.policy import load_policy_set
from oversight_audit import SignerKey

INPUT = {"request": "delete the users inactive since 2025", "database": "production"}


def raw_review(state: demo.SqlState) -> demo.SqlState:
    answer = interrupt({"query": state["query"], "database": state.get("database"),
                        "operation": state["operation"]})
    return {"approved": answer == "approved"}


def raw_graph() -> StateGraph[Any]:
    return demo.chain(demo.SqlState, ("generate", demo.generate), ("review", raw_review),
                      ("execute", demo.execute))


async def raw_cycles(url: str, clients: int, cycles: int) -> list[float]:
    async with open_checkpointer(url) as checkpointer:
        graph = raw_graph().compile(checkpointer=checkpointer)

        async def one() -> float:
            start = time.perf_counter()
            config: Any = {"configurable": {"thread_id": str(uuid.uuid4())}}
            result = await graph.ainvoke(INPUT, config)
            [pending] = result["__interrupt__"]
            done = await graph.ainvoke(Command(resume={pending.id: "approved"}), config)
            assert done["result"].startswith("executed")
            return time.perf_counter() - start

        return await _drive(one, clients, cycles)


async def gateway_cycles(url: str, clients: int, cycles: int) -> list[float]:
    engine = db.create_db_engine(url, pool_size=clients + 4)
    sessions = db.session_factory(engine)
    signer = SignerKey("bench", Ed25519PrivateKey.from_private_bytes(b"\x02" * 32))
    sequencer = Sequencer(sessions, signer=signer, origin="bench", interval=0.25)
    sequencer.start()
    policy = load_policy_set([shipped_policies()])
    try:
        async with open_checkpointer(url, pool_size=clients + 2) as checkpointer:
            gateway = Gateway(sessions=sessions, checkpointer=checkpointer,
                              evaluate=policy.evaluate)
            gateway.register("sql_agent", demo.sql_agent)
            now = time.time()
            import datetime as dt
            signed_in = dt.datetime.fromtimestamp(now, dt.UTC)
            riley, dana = (demo_user(s, signed_in_at=signed_in) for s in ("riley", "dana"))

            async def one() -> float:
                start = time.perf_counter()
                view = await gateway.start("sql_agent", INPUT, requester=riley)
                [request] = view.pending
                await gateway.decide(request.id, principal=dana, decision="approve",
                                     payload_digest=request.payload_digest)
                elapsed = time.perf_counter() - start
                assert (await gateway.request(request.id)).status == "resumed"
                return elapsed

            return await _drive(one, clients, cycles)
    finally:
        sequencer.stop()
        engine.dispose()


CPU: dict[str, float] = {}  # the process's CPU time a cycle (user + system) of the last run


async def _drive(one: Any, clients: int, cycles: int) -> list[float]:
    for _ in range(3):
        await one()  # warm up
    latencies: list[float] = []
    remaining = cycles

    async def client() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            latencies.append(await one())

    started, cpu = time.perf_counter(), os.times()
    await asyncio.gather(*(client() for _ in range(clients)))
    wall = time.perf_counter() - started
    spent = os.times()
    # every thread of this process: the graph, the gateway's workers and the sequencer
    CPU["last"] = (spent.user - cpu.user + spent.system - cpu.system) / cycles
    latencies.append(-wall)  # the last element carries the wall time
    return latencies


def report(backend: str, clients: int, raw: list[float], gated: list[float],
           cpu: tuple[float, float]) -> None:
    raw_wall, gate_wall = -raw.pop(), -gated.pop()
    raw_ms, gate_ms = statistics.median(raw) * 1000, statistics.median(gated) * 1000
    raw_rate, gate_rate = len(raw) / raw_wall, len(gated) / gate_wall
    raw_cpu, gate_cpu = (c * 1000 for c in cpu)
    print(f"{backend:10s} {clients:2d} clients: raw {raw_ms:6.1f} ms/cycle ({raw_rate:5.1f}/s,"
          f" CPU {raw_cpu:4.1f} ms) | gateway {gate_ms:6.1f} ms/cycle ({gate_rate:5.1f}/s,"
          f" CPU {gate_cpu:4.1f} ms) | ratio per cycle {gate_ms / raw_ms:4.2f}x, throughput"
          f" {raw_rate / gate_rate:4.2f}x, CPU {gate_cpu / raw_cpu:4.2f}x", flush=True)


async def measure(backend: str, make_url: Any, cycles: int) -> None:
    for clients in (1, 16):
        raw = await raw_cycles(make_url(), clients, cycles)
        raw_cpu = CPU["last"]
        url = make_url()
        db.upgrade(url)
        gated = await gateway_cycles(url, clients, cycles)
        report(backend, clients, raw, gated, (raw_cpu, CPU["last"]))


async def breakdown(url: str, cycles: int) -> None:
    """Where a gateway cycle's time goes (one client): each transaction by name, the state
    reads, and the rest (the graph's own legs and their checkpoints)."""
    from langgraph.pregel.main import Pregel

    spent: dict[str, float] = {}
    original_tx, original_state = Gateway._tx, Pregel.aget_state

    async def timed_tx(self: Gateway, work: Any) -> Any:
        start = time.perf_counter()
        try:
            return await original_tx(self, work)
        finally:
            name = "transaction " + getattr(work, "__qualname__", "?").replace(".<locals>", "")
            spent[name] = spent.get(name, 0.0) + time.perf_counter() - start

    async def timed_state(self: Any, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return await original_state(self, *args, **kwargs)
        finally:
            spent["checkpointer state reads"] = (spent.get("checkpointer state reads", 0.0)
                                                 + time.perf_counter() - start)

    Gateway._tx, Pregel.aget_state = timed_tx, timed_state  # type: ignore[method-assign]
    try:
        latencies = await gateway_cycles(url, 1, cycles)
    finally:
        Gateway._tx, Pregel.aget_state = original_tx, original_state  # type: ignore[method-assign]
    wall = -latencies.pop()
    total = sum(latencies)
    print(f"gateway cycle, mean of {len(latencies)}: {total / len(latencies) * 1000:.1f} ms "
          f"(wall {wall:.1f} s, warm-up excluded from the mean)")
    measured = sum(latencies) / len(latencies)
    warm = len(latencies) + 3
    for name, seconds in sorted(spent.items(), key=lambda item: -item[1]):
        print(f"  {seconds / warm * 1000:6.2f} ms  {name}")
    accounted = sum(spent.values()) / warm
    print(f"  {max(0.0, measured - accounted) * 1000:6.2f} ms  the graph's legs and the rest")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=200)
    parser.add_argument("--breakdown", action="store_true",
                        help="PostgreSQL only: where one client's cycle spends its time")
    args = parser.parse_args()
    configure_logging("console", "WARNING")
    if args.breakdown:
        with throwaway_cluster() as server:
            url = server.create_database("bench")
            db.upgrade(url)
            asyncio.run(breakdown(url, args.cycles))
            raw = asyncio.run(raw_cycles(server.create_database("bench"), 1, args.cycles))
            raw.pop()
            print(f"raw LangGraph cycle, mean of {len(raw)}: {sum(raw) / len(raw) * 1000:.1f} ms")
        return
    with throwaway_cluster() as server:
        asyncio.run(measure("PostgreSQL", lambda: server.create_database("bench"), args.cycles))
    with tempfile.TemporaryDirectory() as tmp:
        counter = iter(range(100))
        asyncio.run(measure("SQLite", lambda: f"sqlite:///{tmp}/bench{next(counter)}.db",
                            args.cycles))


if __name__ == "__main__":
    main()
