"""The gateway remembers which graph a thread runs (it never changes) for a bounded number of
threads, and learns it from what it reads anyway, so a resume needs no lookup of its own."""

from __future__ import annotations

from sqlalchemy import event

from oversight.gateway import service
from tests.gateway import graphs
from tests.gateway.conftest import DANA, RILEY

ASK = {"action": "sql.execute", "payload": {"operation": "DELETE", "query": "DELETE FROM t"}}


async def test_the_names_kept_are_bounded_and_a_forgotten_one_is_read_again(gateway, monkeypatch):
    monkeypatch.setattr(service, "GRAPH_NAMES_KEPT", 2)
    gateway.register("ask", graphs.ask_graph)
    views = [await gateway.start("ask", ASK, requester=RILEY) for _ in range(3)]
    assert len(gateway._graph_of) == 2 and views[0].id not in gateway._graph_of
    request = views[0].pending[0]
    await gateway.decide(request.id, principal=DANA, decision="approve",
                         payload_digest=request.payload_digest)
    assert (await gateway.thread(views[0].id)).status == "completed"
    assert len(gateway._graph_of) == 2


async def test_a_runner_learns_the_graph_from_its_claim(gateway, engine):
    gateway.register("ask", graphs.ask_graph)
    view = await gateway.start("ask", ASK, requester=RILEY)
    request = view.pending[0]
    await gateway.decide(request.id, principal=DANA, decision="approve",
                         payload_digest=request.payload_digest, resume=False)
    gateway._graph_of.clear()  # as in another process: a sweeper, a second replica
    lookups: list[str] = []

    def record(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("SELECT THREAD.ID, THREAD.GRAPH, THREAD.STATUS"):
            lookups.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        assert await gateway.run_jobs() == 1
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert (await gateway.thread(view.id)).status == "completed"
    assert gateway._graph_of[view.id] == "ask"
    # the ORM's read of the whole thread row is what a lookup by id would have cost
    assert not [s for s in lookups if "requester_issuer" in s], lookups
