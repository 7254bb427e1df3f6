"""Many due requests at once, without running a graph for each: threads, requests, and in the
real checkpointer (through its own API) a checkpoint holding each request's interrupt."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid

from langgraph.checkpoint.base import BaseCheckpointSaver, empty_checkpoint
from langgraph.types import Interrupt
from sqlalchemy import insert
from sqlalchemy.orm import Session, sessionmaker

from oversight.approvals.models import ApprovalRequest
from oversight.gateway.models import Thread
from oversight.policy.outcomes import ApproverGroup, Requirement, TimeoutPolicy

EXPIRE = Requirement(approvers=(ApproverGroup(role="dba"),), deadline=dt.timedelta(minutes=10),
                     on_timeout=TimeoutPolicy(then="expire"))


async def checkpoint_waiting_on(saver: BaseCheckpointSaver[str], thread_id: str,
                                interrupt_id: str) -> None:
    """Save a checkpoint of ``thread_id`` whose task raised ``interrupt_id``."""
    config = await saver.aput({"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}},
                              empty_checkpoint(), {"source": "loop", "step": 0, "parents": {}},
                              {})
    await saver.aput_writes(config, [("__interrupt__", (Interrupt(value={"n": 1},
                                                                  id=interrupt_id),))],
                            task_id=str(uuid.uuid4()), task_path="~__pregel_pull, ask")


async def due_requests(sessions: sessionmaker[Session], saver: BaseCheckpointSaver[str], *,
                       count: int, deadline: dt.datetime,
                       requirement: Requirement = EXPIRE) -> list[str]:
    """``count`` waiting threads, each with one pending request due at ``deadline``."""
    threads = [str(uuid.uuid4()) for _ in range(count)]
    interrupts = [uuid.uuid4().hex for _ in range(count)]
    created = deadline - requirement.deadline
    rule = "timeout-" + requirement.on_timeout.then
    with sessions.begin() as session:
        session.execute(insert(Thread), [
            {"id": t, "graph": "ask", "status": "waiting", "created_at": created,
             "updated_at": created} for t in threads])
        session.execute(insert(ApprovalRequest), [
            {"id": str(uuid.uuid4()), "thread_id": t, "interrupt_id": i, "part": 0, "parts": 1,
             "graph": "ask", "node": "ask", "action": "deploy." + requirement.on_timeout.then,
             "shape": "oversight", "payload": "{}", "payload_digest": "sha256:0",
             "original_digest": "sha256:0", "status": "pending", "policy_version": "sha256:test",
             "rule_id": rule, "requirement": json.dumps(requirement.model_dump(mode="json")),
             "created_at": created, "deadline_at": deadline}
            for t, i in zip(threads, interrupts, strict=True)])
    for start in range(0, count, 50):
        await asyncio.gather(*(checkpoint_waiting_on(saver, t, i) for t, i in zip(
            threads[start:start + 50], interrupts[start:start + 50], strict=True)))
    return threads
