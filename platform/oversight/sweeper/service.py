"""The sweeper: one pass makes every policy deadline real and repairs drift with the
checkpointer, which is the truth about what waits.

A pass, each step in its own transactions (so one failing step never stops the others):

1. **due requests**, read in deadline order from the ``(status, deadline_at)`` index in
   batches; for each batch one checkpointer query confirms each thread still waits on that
   interrupt, then one transaction claims the batch and applies ``on_timeout``
   (``timeouts``). A timeout rejection queues the resume like any decision;
2. **lost and failed resumes** (``repairs``);
3. every ``scan_every`` (and on the first pass), one keyset page of each **drift scan**:
   pending requests checked against the checkpointer (deleted threads, vanished
   interrupts), and the checkpointer's threads checked against our requests (orphan
   interrupts, registered through ``Gateway.reconcile``);
4. the queued **resumes** run through the gateway's runners (``Gateway.run_jobs``).

Several sweepers and servers may run at once on PostgreSQL: claims use ``SKIP LOCKED``,
resumes are unique per interrupt and leased. On SQLite, one process at a time.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import TypeVar

from sqlalchemy.orm import Session

from oversight.gateway import heads as queries
from oversight.gateway.exceptions import CheckpointerUnsupported
from oversight.gateway.heads import ThreadHead
from oversight.gateway.service import Gateway
from oversight.logs import get_logger
from oversight.sweeper import closing, repairs, timeouts

T = TypeVar("T")
log = get_logger("sweeper")


@dataclass(frozen=True)
class PassSummary:
    """What one pass did (requests and threads counted once each)."""

    rejected: int = 0
    expired: int = 0
    escalated: int = 0
    orphans_registered: int = 0  # interrupts the checkpointer held that no request knew
    stale_closed: int = 0  # pending requests whose interrupt was no longer pending
    threads_gone: int = 0  # threads deleted from the checkpointer
    resumes_requeued: int = 0  # final interrupts whose resume had been lost
    resumes_failed: int = 0  # threads ended because their resume failed for good
    unregistered: int = 0  # threads ended because their graph is not registered
    resumes_run: int = 0
    busy: int = 0  # left for the next pass: another process held them
    no_graphs: int = 0  # skipped: no graph at all is registered in this process
    errors: int = 0
    seconds: float = 0.0

    @property
    def repaired(self) -> int:
        """Drift repaired in this pass, of every kind."""
        return (self.orphans_registered + self.stale_closed + self.threads_gone
                + self.resumes_requeued + self.resumes_failed + self.unregistered)

    def as_dict(self) -> dict[str, float | int]:
        """The counts, and ``repaired``, for logs and JSON."""
        return {**asdict(self), "repaired": self.repaired}

    def describe(self) -> str:
        """One line for people."""
        text = (f"{self.rejected} rejected, {self.expired} expired, {self.escalated} escalated, "
                f"{self.repaired} repaired (orphan interrupts registered "
                f"{self.orphans_registered}, stale requests closed {self.stale_closed}, "
                f"deleted threads closed {self.threads_gone}, lost resumes queued "
                f"{self.resumes_requeued}, failed resumes ended {self.resumes_failed}, "
                f"unregistered graphs ended {self.unregistered}); {self.resumes_run} resumes "
                f"run; {self.busy} busy; {self.errors} errors; {self.seconds:.2f} s")
        if self.no_graphs:
            text += (f"; {self.no_graphs} left alone because no graph is registered here "
                     "(set OVERSIGHT_GRAPHS)")
        return text


class Sweeper:
    """Applies deadlines and repairs drift, one ``run_pass`` at a time."""

    def __init__(self, gateway: Gateway, *, batch: int = 500, scan_every: float = 30.0,
                 settle: dt.timedelta = dt.timedelta(seconds=60), run_resumes: bool = True,
                 due_workers: int = 2, resume_workers: int = 1) -> None:
        self.gateway = gateway
        self.batch = batch
        self.scan_every = scan_every  # seconds between drift-scan pages
        self.settle = settle  # a thread touched more recently may still be registering
        self.run_resumes = run_resumes
        self.due_workers = max(1, due_workers)
        self.resume_workers = resume_workers
        self._last_scan: float | None = None
        self._stale_after: timeouts.Cursor | None = None
        self._orphans_after: str | None = None
        self._warned = False

    async def _tx(self, work: Callable[[Session], T]) -> T:
        def run() -> T:
            with self.gateway.sessions() as session, session.begin():
                return work(session)
        return await asyncio.to_thread(run)

    async def run_pass(self, *, scan: bool | None = None) -> PassSummary:
        """One pass; ``scan`` forces (or skips) the drift scan regardless of ``scan_every``."""
        started = time.perf_counter()
        tally: Counter[str] = Counter()
        if scan is None:
            scan = self._last_scan is None or time.monotonic() - self._last_scan >= self.scan_every
        steps: list[tuple[str, Callable[[], Awaitable[None]]]] = [
            ("due", lambda: self._sweep_due(tally)),
            ("resumes", lambda: self._repair_resumes(tally))]
        if scan:
            self._last_scan = time.monotonic()
            steps += [("stale", lambda: self._scan_pending(tally)),
                      ("orphans", lambda: self._scan_checkpointer(tally))]
        if self.run_resumes:
            steps.append(("run", lambda: self._run_resumes(tally)))
        for name, step in steps:
            try:
                await step()
            except Exception as exc:  # one step's failure must not stop the others
                tally["errors"] += 1
                log.error("sweeper.step_failed", step=name, error=f"{type(exc).__name__}: {exc}",
                          exc_info=True)
        summary = PassSummary(**tally, seconds=round(time.perf_counter() - started, 4))
        emit = log.info if any(tally.values()) else log.debug  # quiet when nothing happened
        emit("sweeper.pass", scanned=scan, **summary.as_dict())
        return summary

    async def _settle_batch(self, rows: list[timeouts.PendingRow], due_by: dt.datetime | None,
                            tally: Counter[str], *,
                            heads: dict[str, ThreadHead] | None = None) -> None:
        if heads is None:
            heads = await queries.heads_of(self.gateway.checkpointer,
                                           [r.thread_id for r in rows])
        counts: Counter[str] = Counter()
        ids = [r.id for r in rows]

        def work(session: Session) -> set[str]:
            counts.clear()  # only what committed is counted
            return timeouts.settle(session, gateway=self.gateway, ids=ids, heads=heads,
                                   now=self.gateway.clock(), due_by=due_by, tally=counts)

        recheck = await self._tx(work)
        tally.update(counts)
        if recheck:  # an interrupt vanished: register what the thread does now
            await self._register_orphans([heads[t] for t in sorted(recheck)], tally, force=True)

    async def _sweep_due(self, tally: Counter[str]) -> None:
        """Every request due now, batch by batch; up to ``due_workers`` batches in flight (the
        next batch is read and checked while the previous one commits)."""
        due_by = self.gateway.clock()
        after: timeouts.Cursor | None = None
        slots = asyncio.Semaphore(self.due_workers)
        running: set[asyncio.Task[None]] = set()

        async def settle(rows: list[timeouts.PendingRow]) -> None:
            try:
                await self._settle_batch(rows, due_by, tally)
            finally:
                slots.release()

        try:
            while True:
                await slots.acquire()
                rows = await self._pending(due_by=due_by, after=after)
                if not rows:
                    slots.release()
                    break
                task = asyncio.create_task(settle(rows))
                running.add(task)
                task.add_done_callback(running.discard)
                if len(rows) < self.batch:
                    break
                after = (rows[-1].deadline_at, rows[-1].id)
        finally:
            results = await asyncio.gather(*running, return_exceptions=True)
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed:
            raise failed[0]

    async def _pending(self, *, due_by: dt.datetime | None, after: timeouts.Cursor | None
                       ) -> list[timeouts.PendingRow]:
        return await self._tx(lambda s: timeouts.pending_rows(s, due_by=due_by, after=after,
                                                              limit=self.batch))

    async def _counted(self, work: Callable[[Session, Counter[str]], object],
                       tally: Counter[str]) -> None:
        """Run ``work`` in a transaction; count what it did once it committed."""
        counts: Counter[str] = Counter()

        def run(session: Session) -> None:
            counts.clear()
            work(session, counts)

        await self._tx(run)
        tally.update(counts)

    async def _repair_resumes(self, tally: Counter[str]) -> None:
        await self._counted(lambda s, counts: repairs.requeue_lost_resumes(
            s, gateway=self.gateway, now=self.gateway.clock(), limit=self.batch, tally=counts),
            tally)
        await self._counted(lambda s, counts: repairs.fail_dead_resumes(
            s, now=self.gateway.clock(), limit=self.batch, tally=counts), tally)

    async def _scan_pending(self, tally: Counter[str]) -> None:
        """One page of pending requests, in deadline order, checked against the checkpointer."""
        rows = await self._pending(due_by=None, after=self._stale_after)
        self._stale_after = (rows[-1].deadline_at, rows[-1].id) if len(rows) == self.batch \
            else None
        heads = await queries.heads_of(self.gateway.checkpointer, [r.thread_id for r in rows])
        drifted = [r for r in rows if r.thread_id not in heads
                   or r.interrupt_id not in heads[r.thread_id].live_ids()]
        if drifted:  # only these are locked and looked at again
            await self._settle_batch(drifted, None, tally, heads=heads)

    async def _scan_checkpointer(self, tally: Counter[str]) -> None:
        """One page of the checkpointer's threads: register interrupts no request knows."""
        try:
            page = await queries.heads_page(self.gateway.checkpointer,
                                            after=self._orphans_after, limit=self.batch)
        except CheckpointerUnsupported as exc:  # no tables to read: nothing to compare
            if not self._warned:
                log.warning("sweeper.orphan_scan_unavailable", reason=exc.detail)
                self._warned = True
            return
        self._orphans_after = page.next_after
        await self._register_orphans([h for h in page.heads
                                      if h.interrupt_ids or h.next_nodes], tally)

    async def _register_orphans(self, heads: list[ThreadHead], tally: Counter[str], *,
                                force: bool = False) -> None:
        """Reconcile the threads whose heads hold interrupts no request knows (all of them
        with ``force``), then record each interrupt so registered."""
        if not heads:
            return
        known = await self._tx(lambda s: repairs.known_interrupts(
            s, [h.thread_id for h in heads]))
        heads = [h for h in heads if force or h.live_ids() - known.get(h.thread_id, set())]
        if not heads:
            return
        facts = await self._tx(lambda s: repairs.thread_facts(s, [h.thread_id for h in heads]))
        settled_before = self.gateway.clock() - self.settle
        for head in heads:
            fact = facts.get(head.thread_id)
            if (fact is None or fact.status in closing.TERMINAL_THREADS or fact.resuming
                    or (fact.updated_at > settled_before and not force)):
                continue  # not ours, over, being resumed, or perhaps registering right now
            state = timeouts.graph_state(self.gateway, fact.graph)
            live = head.live_ids()
            if state == "registered":
                registration = self.gateway.registry.get(fact.graph)
                live = head.interrupt_ids | head.breakpoint_ids(
                    registration.interrupt_before, registration.interrupt_after)
            unknown = live - known.get(head.thread_id, set())
            if not unknown and not force:
                continue
            if state != "registered":
                await self._graph_missing(head.thread_id, state, tally)
                continue
            try:
                await self.gateway.reconcile(head.thread_id)
            except Exception as exc:
                tally["errors"] += 1
                log.error("sweeper.reconcile_failed", thread=head.thread_id,
                          error=f"{type(exc).__name__}: {exc}")
                continue
            if unknown:
                tally["orphans_registered"] += await self._record_recovered(head, unknown)

    async def _record_recovered(self, head: ThreadHead, unknown: frozenset[str]) -> int:
        return await self._tx(lambda s: repairs.record_recovered(
            s, thread_id=head.thread_id, interrupt_ids=unknown, checkpoint_id=head.checkpoint_id,
            now=self.gateway.clock()))

    async def _graph_missing(self, thread_id: str, state: str, tally: Counter[str]) -> None:
        if state == "unknown":
            tally["no_graphs"] += 1
            return
        if await self._tx(lambda s: repairs.fail_unregistered(s, thread_id=thread_id,
                                                              now=self.gateway.clock())):
            tally["unregistered"] += 1

    async def _run_resumes(self, tally: Counter[str]) -> None:
        """Run queued resumes (ours and any other) until none is claimable, at most
        ``10 × batch`` a pass."""
        limit = 10 * self.batch

        async def worker() -> int:
            done = 0
            while done < limit:
                ran = await self.gateway.run_jobs(limit=min(100, limit - done))
                if ran == 0:
                    break
                done += ran
            return done

        done = await asyncio.gather(*(worker() for _ in range(max(1, self.resume_workers))))
        tally["resumes_run"] += sum(done)
