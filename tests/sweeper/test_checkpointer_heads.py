"""The per-kind SQL over the checkpointer's tables agrees with LangGraph's own view of each
thread, on the SQLite and PostgreSQL checkpointers (and falls back on any other saver)."""

from __future__ import annotations

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from oversight.gateway import heads as queries
from oversight.gateway.adapters import breakpoint_id
from oversight.gateway.exceptions import CheckpointerUnsupported
from tests.gateway import graphs

INPUT = {"action": "deploy.reject", "payload": {"n": 1}}


async def run(checkpointer, builder, thread_id, **compile_options):
    graph = builder().compile(checkpointer=checkpointer, **compile_options)
    config = {"configurable": {"thread_id": thread_id}}
    await graph.ainvoke(INPUT, config)
    return await graph.aget_state(config)


async def test_interrupt_ids_are_the_ones_langgraph_reports(gateway):
    cp = gateway.checkpointer
    one = await run(cp, graphs.ask_graph, "t-ask")
    two = await run(cp, graphs.parallel_graph, "t-parallel")
    heads = await queries.heads_of(cp, ["t-ask", "t-parallel", "t-missing"])
    assert set(heads) == {"t-ask", "t-parallel"}  # a thread the checkpointer lacks is absent
    for state, thread_id in ((one, "t-ask"), (two, "t-parallel")):
        expected = {i.id for task in state.tasks for i in task.interrupts}
        assert heads[thread_id].interrupt_ids == expected
        assert heads[thread_id].checkpoint_id == state.config["configurable"]["checkpoint_id"]
    assert len(heads["t-parallel"].interrupt_ids) == 2


async def test_static_breakpoints_are_found_by_the_pending_next_node(gateway):
    cp = gateway.checkpointer
    before = await run(cp, graphs.plain_graph, "t-before", interrupt_before=["act"])
    after = await run(cp, graphs.plain_graph, "t-after", interrupt_after=["prepare"])
    done = await run(cp, graphs.plain_graph, "t-done")
    assert before.next == ("act",) and after.next == ("act",) and done.next == ()
    heads = await queries.heads_of(cp, ["t-before", "t-after", "t-done"])
    stop = breakpoint_id(before.config["configurable"]["checkpoint_id"], "act")
    assert heads["t-before"].next_nodes == {"act"} and heads["t-before"].interrupt_ids == set()
    assert heads["t-before"].breakpoint_ids(["act"], []) == {stop}
    assert heads["t-before"].breakpoint_ids(["prepare"], []) == set()  # not a stop there
    assert heads["t-after"].breakpoint_ids([], ["prepare"]) != set()
    assert heads["t-after"].breakpoint_ids("*", None) != set()
    assert heads["t-done"].next_nodes == set() and heads["t-done"].live_ids() == set()


async def test_pages_cover_every_thread_once(gateway):
    cp = gateway.checkpointer
    ids = [f"t-{n}" for n in range(5)]
    for thread_id in ids:
        await run(cp, graphs.ask_graph, thread_id)
    seen, after, pages = [], None, 0
    while True:
        page = await queries.heads_page(cp, after=after, limit=2)
        seen += [h.thread_id for h in page.heads]
        pages += 1
        if page.next_after is None:
            break
        after = page.next_after
    assert sorted(seen) == ids and pages == 3
    assert all(h.interrupt_ids for h in (await queries.heads_page(cp, after=None, limit=10)).heads)


async def test_other_savers_are_read_through_the_api_and_cannot_be_listed():
    saver = InMemorySaver()
    state = await run(saver, graphs.ask_graph, "t-memory")
    heads = await queries.heads_of(saver, ["t-memory", "t-none"])
    assert heads["t-memory"].interrupt_ids == {i.id for t in state.tasks for i in t.interrupts}
    assert "t-none" not in heads
    with pytest.raises(CheckpointerUnsupported):
        await queries.heads_page(saver, after=None, limit=10)
