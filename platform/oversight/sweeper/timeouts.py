"""Requests past their deadline: claim them, check them against the checkpointer, apply
``on_timeout`` (the next escalation step, then ``reject`` or ``expire``).

Claiming never waits: due requests, their threads and every open request of those threads
are locked ``FOR UPDATE SKIP LOCKED`` (SQLAlchemy renders nothing on SQLite, where the write
lock taken at ``BEGIN IMMEDIATE`` serialises processes). A thread whose rows another
transaction holds (a decision being taken, a resume being registered) is left for the next
pass. Inside the lock each request is checked again (``pending``, ``deadline_at <= now``), so
a decision that committed first wins and the sweeper skips; a decision that comes after the
sweeper's commit finds the request no longer pending. The change and its ledger records
commit together: a sweeper killed mid-batch leaves nothing half-done.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from oversight.approvals import notices, rules
from oversight.approvals import service as approvals
from oversight.approvals.models import FINAL_STATUSES, PENDING, ApprovalDecision, ApprovalRequest
from oversight.gateway import jobs
from oversight.gateway.exceptions import GraphNotRegistered
from oversight.gateway.heads import ThreadHead
from oversight.gateway.models import Thread
from oversight.gateway.service import Gateway
from oversight.logs import get_logger
from oversight.policy.outcomes import Requirement
from oversight.sweeper import closing

OPEN = (PENDING, *FINAL_STATUSES)
Cursor = tuple[dt.datetime, str]  # (deadline_at, id) of the last request read
log = get_logger("sweeper")


@dataclass(frozen=True)
class PendingRow:
    """A pending request as read without a lock."""

    id: str
    thread_id: str
    interrupt_id: str
    deadline_at: dt.datetime


def pending_rows(session: Session, *, due_by: dt.datetime | None, after: Cursor | None,
                 limit: int) -> list[PendingRow]:
    """Pending requests in deadline order (only those due by ``due_by`` when given), after
    ``after``: a range of the ``(status, deadline_at)`` index, never a scan."""
    deadline = ApprovalRequest.deadline_at
    query = select(ApprovalRequest.id, ApprovalRequest.thread_id, ApprovalRequest.interrupt_id,
                   deadline).where(ApprovalRequest.status == PENDING, deadline.is_not(None))
    if due_by is not None:
        query = query.where(ApprovalRequest.deadline_at <= due_by)
    if after is not None:
        query = query.where(ApprovalRequest.deadline_at >= after[0],
                            or_(ApprovalRequest.deadline_at > after[0],
                                ApprovalRequest.id > after[1]))
    query = query.order_by(ApprovalRequest.deadline_at, ApprovalRequest.id).limit(limit)
    return [PendingRow(id=i, thread_id=t, interrupt_id=n, deadline_at=d)
            for i, t, n, d in session.execute(query) if d is not None]


def settle(session: Session, *, gateway: Gateway, ids: Sequence[str],
           heads: Mapping[str, ThreadHead], now: dt.datetime, due_by: dt.datetime | None,
           tally: Counter[str]) -> set[str]:
    """Check pending requests ``ids`` against the checkpointer's ``heads`` and, with
    ``due_by``, apply the timeout of those due. Returns the threads whose checkpointer state
    should be registered again (an interrupt of theirs vanished)."""
    query = select(ApprovalRequest).where(ApprovalRequest.id.in_(ids),
                                          ApprovalRequest.status == PENDING)
    if due_by is not None:
        query = query.where(ApprovalRequest.deadline_at <= due_by)
    mine = list(session.scalars(query.order_by(ApprovalRequest.deadline_at, ApprovalRequest.id)
                                .with_for_update(skip_locked=True)))
    if len(mine) < len(ids):  # the others are decided, or locked by another process
        still = session.scalar(query.with_only_columns(func.count()).order_by(None))
        tally["busy"] += max(0, (still or 0) - len(mine))
    by_thread: dict[str, list[ApprovalRequest]] = defaultdict(list)
    for request in mine:
        by_thread[request.thread_id].append(request)
    threads, open_rows = lock_threads(session, list(by_thread), locked=mine)
    # a rejection resumes with who decided what so far: read for the batch at once, when
    # the first rejection needs them
    decided = _BatchDecisions(session, [r.id for rows in open_rows.values() for r in rows])
    recheck: set[str] = set()
    for thread_id, requests in by_thread.items():
        thread, rows = threads.get(thread_id), open_rows.get(thread_id)
        if thread is None or rows is None:
            tally["busy"] += len(requests)
            continue
        head = heads.get(thread_id)
        drifted = head is None or any(r.interrupt_id not in head.live_ids() for r in requests)
        if drifted and jobs.has_open_jobs(session, thread_id):
            tally["busy"] += len(requests)  # a resume is in flight; look again later
            continue
        if head is None:
            closing.thread_gone(session, thread, rows, now=now)
            tally["threads_gone"] += 1
            continue
        if thread.status in closing.TERMINAL_THREADS:  # it ended without closing these
            tally["stale_closed"] += closing.close(
                session, requests, status="closed", action="request.closed", now=now,
                reason=f"its thread had already ended ({thread.status})")
            continue
        for request in requests:
            if request.status != PENDING:  # closed above, with an expired sibling
                continue
            if request.interrupt_id not in head.live_ids():
                closing.close(session, [request], status="closed", action="request.closed",
                              reason="its interrupt is no longer pending in the checkpointer",
                              now=now)
                tally["stale_closed"] += 1
                recheck.add(thread_id)
            elif due_by is not None:
                _apply_timeout(session, gateway, thread, request, rows, now, tally, decided)
    return recheck


def lock_threads(session: Session, thread_ids: Sequence[str],
                 locked: Sequence[ApprovalRequest] = ()
                 ) -> tuple[dict[str, Thread], dict[str, list[ApprovalRequest]]]:
    """Lock threads and all their open requests without waiting (``locked``: requests this
    transaction holds already); a thread appears in both results only when every one of its
    rows was free."""
    threads = {t.id: t for t in session.scalars(
        select(Thread).where(Thread.id.in_(thread_ids)).with_for_update(skip_locked=True))}
    held = {r.id for r in locked}
    others = session.scalars(
        select(ApprovalRequest)
        .where(ApprovalRequest.thread_id.in_(list(threads)), ApprovalRequest.status.in_(OPEN),
               ApprovalRequest.id.not_in(held))
        .with_for_update(skip_locked=True))
    rows: dict[str, list[ApprovalRequest]] = {thread_id: [] for thread_id in threads}
    for row in [*(r for r in locked if r.thread_id in threads and r.status in OPEN), *others]:
        rows[row.thread_id].append(row)
    counts = dict(session.execute(
        select(ApprovalRequest.thread_id, func.count())
        .where(ApprovalRequest.thread_id.in_(list(threads)), ApprovalRequest.status.in_(OPEN))
        .group_by(ApprovalRequest.thread_id)).all())
    complete = {t: sorted(found, key=lambda r: (r.created_at, r.part))
                for t, found in rows.items() if len(found) == counts.get(t, 0)}
    return {t: threads[t] for t in complete}, complete


class _BatchDecisions:
    """The decisions on a batch's requests, read in one query the first time one is asked."""

    def __init__(self, session: Session, request_ids: list[str]) -> None:
        self._session, self._ids = session, request_ids
        self._found: dict[str, tuple[ApprovalDecision, ...]] | None = None

    def get(self, request_id: str) -> tuple[ApprovalDecision, ...]:
        if self._found is None:
            self._found = approvals.decisions_by_request(self._session, self._ids)
        return self._found.get(request_id, ())


def graph_state(gateway: Gateway, graph: str) -> str:
    """``registered``, ``missing``, or ``unknown`` when nothing at all is registered here
    (a misconfigured sweeper must not fail every thread it sees)."""
    try:
        gateway.registry.get(graph)
    except GraphNotRegistered:
        return "missing" if gateway.registry.names() else "unknown"
    return "registered"


def _apply_timeout(session: Session, gateway: Gateway, thread: Thread, request: ApprovalRequest,
                   rows: Sequence[ApprovalRequest], now: dt.datetime, tally: Counter[str],
                   decided: _BatchDecisions) -> None:
    requirement = _requirement(request.requirement)
    if requirement is None:  # decided by policy: never pending
        return
    timeout = requirement.on_timeout
    if request.escalation_step < len(timeout.escalate):
        _escalate(session, request, requirement, now)
        tally["escalated"] += 1
    elif timeout.then == "expire":
        tally["expired"] += _expire(session, thread, request, rows, now)
    elif (state := graph_state(gateway, thread.graph)) != "registered":
        if state == "missing":
            closing.graph_missing(session, thread, rows, now=now)
            tally["unregistered"] += 1
        else:
            tally["no_graphs"] += 1
    else:
        _reject(session, gateway, thread, request, rows, now, decided)
        tally["rejected"] += 1


@functools.lru_cache(maxsize=256)
def _requirement(stored: str) -> Requirement | None:
    # requests of one rule share one stored requirement: parse it once
    data = json.loads(stored)
    return Requirement.model_validate(data) if data else None


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _escalate(session: Session, request: ApprovalRequest, requirement: Requirement,
              now: dt.datetime) -> None:
    number = request.escalation_step
    step = requirement.on_timeout.escalate[number]
    missed = request.deadline_at
    escalated = requirement.model_copy(update={"approvers": step.approvers})
    request.requirement = json.dumps(escalated.model_dump(mode="json"))
    request.deadline_at = now + step.deadline
    request.escalation_step = number + 1
    closing.record(session, request, "request.escalated", now=now, step=number + 1,
                   steps=len(requirement.on_timeout.escalate),
                   approvers=rules.describe_groups(step.approvers),
                   missed_deadline=_iso(missed), deadline=_iso(request.deadline_at),
                   notify=list(step.notify))
    notices.queue_notice(session, request, channels=step.notify, approvers=step.approvers,
                         event="request.escalated", now=now, step=number + 1,
                         steps=len(requirement.on_timeout.escalate))
    log.info("sweeper.escalated", approval=request.id, step=number + 1,
             notify=list(step.notify))


def _expire(session: Session, thread: Thread, request: ApprovalRequest,
            rows: Sequence[ApprovalRequest], now: dt.datetime) -> int:
    reason = (f"the deadline passed at {_iso(request.deadline_at)} with no decision; rule "
              f"{request.rule_id!r} expires on timeout")
    request.reason = reason
    closing.close(session, [request], status="expired", action="request.expired", reason=reason,
                  now=now, on_timeout="expire", deadline=_iso(request.deadline_at))
    others = [r for r in rows if r is not request and r.status in OPEN]
    because = f"request {request.id} of the same thread expired; the thread ends here"
    expired = 1 + closing.close(session, [r for r in others if r.status == PENDING],
                                status="expired", action="request.expired", reason=because,
                                now=now)
    closing.close(session, [r for r in others if r.status != PENDING], status="closed",
                  action="request.closed", reason=because, now=now)
    thread.status, thread.updated_at = "expired", now
    closing.record_thread(session, thread, "run.expired", now=now, approval=request.id,
                          rule=request.rule_id, reason=reason)
    return expired


def _reject(session: Session, gateway: Gateway, thread: Thread, request: ApprovalRequest,
            rows: Sequence[ApprovalRequest], now: dt.datetime,
            decided: _BatchDecisions) -> None:
    reason = (f"the deadline passed at {_iso(request.deadline_at)} with no decision; rule "
              f"{request.rule_id!r} rejects on timeout")
    request.status, request.outcome, request.reason, request.decided_at = (
        "rejected", "reject", reason, now)
    closing.record(session, request, "request.rejected", now=now, on_timeout="reject",
                   deadline=_iso(request.deadline_at), reason=reason)
    parts = sorted((r for r in rows if r.interrupt_id == request.interrupt_id),
                   key=lambda r: r.part)
    if len(parts) == request.parts and all(p.status in FINAL_STATUSES for p in parts):
        gateway.enqueue_resume(session, parts, now=now,
                               decisions={p.id: decided.get(p.id) for p in parts})
        thread.status, thread.updated_at = "running", now
