"""The gateway: runs registered graphs, registers every interrupt, resumes exactly once.

Database work runs in worker threads (``asyncio.to_thread``), each call one transaction that
never spans a graph step, so our connection and the checkpointer's never wait on each other.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.types import Command, StateSnapshot
from sqlalchemy.orm import Session, sessionmaker

from oversight.approvals import service as approvals
from oversight.approvals.exceptions import DecisionRefused
from oversight.approvals.models import ApprovalDecision, ApprovalRequest
from oversight.auth.identity import Principal
from oversight.db import utcnow
from oversight.gateway import heads, jobs, registration, threads
from oversight.gateway.checkpointer import release_abandoned_writes
from oversight.gateway.exceptions import ThreadClosed, ThreadWaiting
from oversight.gateway.models import Thread
from oversight.gateway.payloads import check_json_safe
from oversight.gateway.registration import GATEWAY, PolicyEvaluator, ThreadView
from oversight.gateway.registry import GraphRegistration, GraphRegistry
from oversight.gateway.request import raised_nodes
from oversight.ledger import service as ledger
from oversight.logs import get_logger
from oversight.stops import service as stops

T = TypeVar("T")
GRAPH_NAMES_KEPT = 10_000  # thread id -> graph name, the most recently learned kept
log = get_logger("gateway")


class Gateway:
    """Runs graphs and resumes them; one per process, shared by the API, CLI and runners."""

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        checkpointer: BaseCheckpointSaver[str],
        evaluate: PolicyEvaluator,
        registry: GraphRegistry | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
        runner_id: str | None = None,
        lease: dt.timedelta = dt.timedelta(minutes=5),
    ) -> None:
        self.sessions = sessions
        self.checkpointer = checkpointer
        self.evaluate = evaluate
        self.registry = registry or GraphRegistry()
        self.clock = clock
        self.runner_id = runner_id or f"runner-{uuid.uuid4().hex[:8]}"
        self.lease = lease
        self._graph_of: dict[str, str] = {}  # thread id -> graph name (never changes)

    # ---- plumbing ---------------------------------------------------------------------

    async def _tx(self, work: Callable[[Session], T]) -> T:
        def run() -> T:
            with self.sessions() as session, session.begin():
                return work(session)
        return await asyncio.to_thread(run)

    def register(self, name: str, target: Any, **options: Any) -> None:
        """Register a graph by name (see ``GraphRegistration`` for the options)."""
        self.registry.register(GraphRegistration(name=name, target=target, **options))

    @staticmethod
    def _config(thread_id: str) -> RunnableConfig:
        return {"configurable": {"thread_id": thread_id}}

    def _remember_graph(self, thread_id: str, graph: str) -> None:
        known = self._graph_of
        known[thread_id] = graph
        if len(known) > GRAPH_NAMES_KEPT:  # a long-lived server sees threads without end
            del known[next(iter(known))]

    async def _graph_name(self, thread_id: str) -> str:
        graph = self._graph_of.get(thread_id)
        if graph is None:
            graph = await self._tx(lambda s: threads.get_thread(s, thread_id).graph)
            self._remember_graph(thread_id, graph)
        return graph

    # ---- starting and continuing runs ---------------------------------------------------

    async def start(self, graph: str, input: Any, *, requester: Principal | None) -> ThreadView:
        """Create a thread (its id is ours), run it until it ends or waits on people."""
        self.registry.get(graph)
        check_json_safe(input, where="input")
        thread_id = str(uuid.uuid4())
        now = self.clock()

        def create(session: Session) -> None:
            stops.check_not_stopped(session, graph=graph)
            threads.insert_thread(session, thread_id=thread_id, graph=graph, requester=requester,
                                  now=now)
            ledger.append_record(session, action="run.started",
                                 actor=requester.to_actor() if requester else GATEWAY,
                                 subject={"graph": graph, "thread": thread_id}, time=now,
                                 payload={"input": input})

        await self._tx(create)
        self._remember_graph(thread_id, graph)
        return await self._settle(await self._advance(thread_id, input, fresh=True))

    async def send(self, thread_id: str, input: Any, *, requester: Principal | None) -> ThreadView:
        """Send new input to a thread; refused while it waits on a decision."""
        check_json_safe(input, where="input")

        def check(session: Session) -> None:
            thread = threads.get_thread(session, thread_id, for_update=True)
            stops.check_not_stopped(session, graph=thread.graph, thread_id=thread_id)
            if thread.status in ("waiting", "running") or threads.pending_requests(session, thread_id) or \
                    jobs.has_open_jobs(session, thread_id):
                raise ThreadWaiting(
                    f"thread {thread_id} waits on a decision; new input would drop the pending "
                    "interrupt, so it is refused", thread=thread_id)
            if thread.status in ("failed", "cancelled", "expired", "rejected"):
                raise ThreadClosed(f"thread {thread_id} is {thread.status}", thread=thread_id)
            thread.status, thread.updated_at = "running", self.clock()
            ledger.append_record(session, action="run.input",
                                 actor=requester.to_actor() if requester else GATEWAY,
                                 subject={"graph": thread.graph, "thread": thread_id},
                                 time=self.clock(), payload={"input": input})

        await self._tx(check)
        return await self._settle(await self._advance(thread_id, input))

    async def _settle(self, view: ThreadView) -> ThreadView:
        """Run the resumes a leg queued (policy decisions) until the thread waits or ends."""
        if view.status != "running":
            return view
        await self.run_jobs(thread_id=view.id)
        return await self.thread(view.id)

    async def _advance(self, thread_id: str, command: Any, job_id: int | None = None,
                       fresh: bool = False) -> ThreadView:
        """Run the thread's graph one leg, then register what it is waiting on (``fresh``:
        the thread's first leg, so no request of it exists yet)."""
        graph_name = await self._graph_name(thread_id)
        graph = self.registry.compiled(graph_name, self.checkpointer)
        config = self._config(thread_id)
        swallowed: str | None = None
        error: str | None = None
        stream = graph.astream(command, config, stream_mode="updates")
        try:
            async for chunk in stream:
                swallowed = next((n for n in chunk if not n.startswith("__")
                                  and n in raised_nodes(thread_id)), None)
                if swallowed:
                    break
        except Exception as exc:  # a node failed: the thread fails, recorded
            error = f"{type(exc).__name__}: {exc}"
        finally:
            # stop the run now (not when the generator is collected), so no write of it
            # is still under way when we take the database's write lock
            close = getattr(stream, "aclose", None)
            if close is not None:
                await close()
        if swallowed or error:
            await release_abandoned_writes(self.checkpointer)
        state = await graph.aget_state(config)
        return await self._tx(lambda s: self._register(
            s, thread_id, graph_name, state, swallowed=swallowed, error=error, job_id=job_id,
            fresh=fresh))

    def _register(self, session: Session, thread_id: str, graph_name: str, state: StateSnapshot,
                  *, swallowed: str | None, error: str | None, job_id: int | None,
                  fresh: bool = False) -> ThreadView:
        return registration.record_leg(
            session, thread_id=thread_id, graph_name=graph_name, state=state,
            graph=self.registry.get(graph_name), evaluate=self.evaluate,
            enqueue_resume=self.enqueue_resume, now=self.clock(), swallowed=swallowed,
            error=error, job_id=job_id, fresh=fresh)

    def enqueue_resume(self, session: Session, requests: list[ApprovalRequest], *,
                       now: dt.datetime,
                       decisions: dict[str, tuple[ApprovalDecision, ...]] | None = None,
                       claim: bool = False, fresh: bool = False) -> jobs.QueuedJob:
        """Queue the one resume of an interrupt whose parts are all final (``claim``: claimed
        by this runner as it is written; ``decisions`` and ``fresh`` as the caller knows)."""
        template = self.registry.get(requests[0].graph).template_for(requests[0].node)
        return jobs.enqueue(
            session, thread_id=requests[0].thread_id, interrupt_id=requests[0].interrupt_id,
            value=threads.resume_value_of(session, requests, template, decisions), now=now,
            runner=self.runner_id if claim else None, lease=self.lease, fresh=fresh)

    # ---- deciding -------------------------------------------------------------------------

    async def view(self, request_id: str, *, principal: Principal) -> ApprovalRequest:
        """Show a request to ``principal`` (recorded as ``approval.viewed``)."""
        def work(session: Session) -> ApprovalRequest:
            request = approvals.get_request(session, request_id=request_id)
            approvals.record_view(session, request=request, principal=principal, now=self.clock())
            return request
        return await self._tx(work)

    async def decide(self, request_id: str, *, principal: Principal, decision: str,
                     payload_digest: str, edits: dict[str, Any] | None = None,
                     response: str | None = None, comment: str | None = None,
                     idempotency_key: str | None = None, resume: bool = True
                     ) -> approvals.DecisionResult:
        """Record a decision; a final one queues the resume (and runs it here by default)."""
        def work(session: Session) -> tuple[approvals.DecisionResult, threads.ClaimedJob | None]:
            now = self.clock()
            result = approvals.decide(
                session, request_id=request_id, principal=principal, kind=decision,
                payload_digest=payload_digest, edits=edits, response=response, comment=comment,
                idempotency_key=idempotency_key, now=now)
            claimed = None
            if result.interrupt_final:
                request = result.request
                threads.lock_thread(session, request.thread_id)
                busy = threads.activity(session, thread_id=request.thread_id,
                                        graph=request.graph, now=now)
                if not busy.pending:
                    threads.set_thread(session, request.thread_id, status="running", now=now)
                # this process runs the resume it queues, unless another resume of the thread
                # runs or a stop holds it (then a runner claims it later)
                claim = resume and not busy.running and not busy.stopped
                job = self.enqueue_resume(session, approvals.siblings(session, request), now=now,
                                          decisions={request.id: result.decisions},
                                          claim=claim, fresh=True)
                if claim:
                    claimed = (job.id, job.thread_id, job.interrupt_id,
                               json.loads(job.value or "null"))
            return result, claimed

        try:
            result, claimed = await self._tx(work)
        except DecisionRefused as refused:
            error = refused
            await self._tx(lambda s: approvals.record_refusal(
                s, request_id=request_id, principal=principal, kind=decision, error=error,
                now=self.clock()))
            raise
        if claimed is not None:
            self._remember_graph(result.request.thread_id, result.request.graph)
            view = await self._run_claimed(claimed)
            if view is not None:
                await self._settle(view)
        return result

    # ---- runners ---------------------------------------------------------------------------

    async def run_jobs(self, *, thread_id: str | None = None, limit: int = 100,
                       batch: int = 8) -> int:
        """Claim and run resume jobs until none is claimable; returns how many ran.

        Jobs are claimed ``batch`` at a time (one transaction for several resumes) and run
        one after the other; a claimed job this process has not reached yet keeps its lease,
        so if the process dies another runner takes it when the lease runs out.
        """
        done = 0
        while done < limit:
            graphs: dict[str, str] = {}  # filled by the claim, remembered here

            def claim(session: Session, size: int = min(batch, limit - done),
                      graphs: dict[str, str] = graphs) -> list[threads.ClaimedJob]:
                return threads.claim_copies(session, self.runner_id, self.lease, self.clock(),
                                            thread_id, size, graphs)
            claimed = await self._tx(claim)
            if not claimed:
                return done
            for thread, graph in graphs.items():
                self._remember_graph(thread, graph)
            live = await self._still_pending([job[1] for job in claimed])
            for job in claimed:
                await self._run_claimed(job, live[job[1]])
                done += 1
        return done

    async def _still_pending(self, thread_ids: list[str]) -> dict[str, frozenset[str]]:
        """What each thread waits on now: from the checkpointer's tables in one query for a
        whole batch, or, for a checkpointer whose tables we do not read, from each
        thread's state."""
        if heads.reads_tables(self.checkpointer):
            found = await heads.heads_of(self.checkpointer, thread_ids)
            return {t: found[t].live_ids() if t in found else frozenset() for t in thread_ids}
        live = {}
        for thread_id in thread_ids:
            graph = self.registry.compiled(await self._graph_name(thread_id), self.checkpointer)
            state = await graph.aget_state(self._config(thread_id))
            live[thread_id] = frozenset(d.interrupt_id for d in threads.drafts_of(state))
        return live

    async def _run_claimed(self, job: threads.ClaimedJob, live: frozenset[str] | None = None
                           ) -> ThreadView | None:
        """Run a claimed job (``live``: the interrupts its thread waits on, when read with
        its batch); a failure puts it back in the queue (or fails it for good)."""
        try:
            return await self._run_job(*job, live=live)
        except Exception as exc:  # the checkpointer or the database failed: retry later
            message = f"{type(exc).__name__}: {exc}"
            log.error("gateway.resume_failed", job=job[0], thread=job[1], error=message)
            await self._tx(lambda s: jobs.finish(s, job_id=job[0], now=self.clock(),
                                                 error=message))
            return None

    async def _run_job(self, job_id: int, thread_id: str, interrupt_id: str, value: Any, *,
                       live: frozenset[str] | None = None) -> ThreadView | None:
        # every claim looked at the stops in its own transaction: a stopped thread's job
        # stays queued until the stop is lifted; the checkpointer says whether the interrupt
        # still waits (a retried job whose resume was applied already does not run again)
        if live is None:
            live = (await self._still_pending([thread_id]))[thread_id]
        if interrupt_id not in live:
            await self._tx(lambda s: threads.skip_job(s, job_id, thread_id, interrupt_id,
                                                      self.clock()))
            return None
        if interrupt_id.startswith("breakpoint:"):
            if value.get("breakpoint") not in ("approve", "edit"):
                await self._tx(lambda s: threads.refuse_breakpoint(
                    s, job_id, thread_id, interrupt_id, self.clock()))
                return None
            command: Any = None
        else:
            command = Command(resume={interrupt_id: value})
        return await self._advance(thread_id, command, job_id=job_id)

    async def reconcile(self, thread_id: str) -> ThreadView:
        """Register what the checkpointer says the thread waits on now (repairs drift both
        ways: an interrupt no request knows is registered and put through policy; a pending
        request whose interrupt is gone is closed)."""
        graph_name = await self._graph_name(thread_id)
        graph = self.registry.compiled(graph_name, self.checkpointer)
        state = await graph.aget_state(self._config(thread_id))
        return await self._settle(await self._tx(lambda s: self._register(
            s, thread_id, graph_name, state, swallowed=None, error=None, job_id=None)))

    # ---- reading ----------------------------------------------------------------------------

    async def request(self, request_id: str) -> ApprovalRequest:
        """One approval request as it is now (not recorded as viewed)."""
        return await self._tx(lambda s: approvals.get_request(s, request_id=request_id))

    async def thread(self, thread_id: str) -> ThreadView:
        """The thread's status, pending requests and latest values."""
        def work(session: Session) -> tuple[Thread, list[ApprovalRequest]]:
            return threads.get_thread(session, thread_id), threads.pending_requests(session, thread_id)
        thread, pending = await self._tx(work)
        graph = self.registry.compiled(thread.graph, self.checkpointer)
        state = await graph.aget_state(self._config(thread_id))
        return ThreadView(id=thread.id, graph=thread.graph, status=thread.status, pending=pending,
                          values=state.values, error=thread.error)

