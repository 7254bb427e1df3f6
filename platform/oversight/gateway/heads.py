"""What the checkpointer says each thread waits on: one SQL query per checkpointer kind
(runners check a batch of claimed resumes with one; the sweeper reconciles with them).

LangGraph has no API that lists waiting threads, and reading each thread's state costs a
checkpoint load. These queries read the checkpointer's own tables instead (the layouts of
``langgraph-checkpoint-sqlite`` and ``langgraph-checkpoint-postgres``: ``checkpoints`` and
``writes`` / ``checkpoint_writes``, keyed by ``thread_id``, ``checkpoint_ns``,
``checkpoint_id``), for the root namespace only:

- the **latest checkpoint** of a thread is the one with the greatest ``checkpoint_id``
  (uuid6, time-ordered), exactly as ``aget_tuple`` finds it;
- an ``interrupt()`` leaves ``__interrupt__`` writes on that checkpoint; their values hold
  the ``Interrupt`` objects, whose ids are the ids the gateway registers;
- a **static breakpoint** leaves no write at all: the latest checkpoint has no writes yet,
  and the writes of its parent name the nodes it triggered (``branch:to:<node>``,
  ``join:<sources>:<node>``) and, in each write's ``task_path``, the nodes that ran.

Each query reads only the threads asked for (by id, or one keyset page of thread ids), so
its cost follows the page, never the number of checkpoints.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Collection, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from psycopg import AsyncConnection
from psycopg.rows import tuple_row

from oversight.gateway.adapters import breakpoint_id
from oversight.gateway.exceptions import CheckpointerUnsupported

INTERRUPT = "__interrupt__"
_TRIGGER_PREFIXES = ("branch:to:", "join:")

# One row per write of each latest checkpoint (or one row with NULL write columns when it
# has none) with ``parent = 0``; one row per write of its parent that triggers a node, with
# ``parent = 1`` (read only when the latest checkpoint has no writes).
_SQLITE_TAIL = """
SELECT l.thread_id, l.checkpoint_id, 0 AS parent, w.channel, w.task_path,
       CASE WHEN w.channel = '__interrupt__' THEN w.type END,
       CASE WHEN w.channel = '__interrupt__' THEN w.value END
FROM latest AS l
LEFT JOIN writes AS w
  ON w.thread_id = l.thread_id AND w.checkpoint_ns = '' AND w.checkpoint_id = l.checkpoint_id
UNION ALL
SELECT l.thread_id, l.checkpoint_id, 1, w.channel, w.task_path, NULL, NULL
FROM latest AS l
JOIN writes AS w
  ON w.thread_id = l.thread_id AND w.checkpoint_ns = ''
 AND w.checkpoint_id = l.parent_checkpoint_id
WHERE substr(w.channel, 1, 10) = 'branch:to:' OR substr(w.channel, 1, 5) = 'join:'
"""

# SQLite returns the other columns of the row that holds MAX(checkpoint_id) in each group.
SQLITE_HEADS_OF = """
WITH latest AS MATERIALIZED (
  SELECT thread_id, MAX(checkpoint_id) AS checkpoint_id, parent_checkpoint_id
  FROM checkpoints
  WHERE checkpoint_ns = '' AND thread_id IN (SELECT value FROM json_each(?))
  GROUP BY thread_id
)""" + _SQLITE_TAIL  # noqa: S608 (constants only)

SQLITE_HEADS_PAGE = """
WITH latest AS MATERIALIZED (
  SELECT thread_id, MAX(checkpoint_id) AS checkpoint_id, parent_checkpoint_id
  FROM checkpoints
  WHERE checkpoint_ns = '' AND thread_id > ?
  GROUP BY thread_id ORDER BY thread_id LIMIT ?
)""" + _SQLITE_TAIL  # noqa: S608 (constants only)

# LATERAL ... OFFSET 0 keeps each lookup a primary-key probe per thread (never a hash of the
# whole writes table).
_POSTGRES_TAIL = """
SELECT l.thread_id, l.checkpoint_id, 0 AS parent, w.channel, w.task_path,
       CASE WHEN w.channel = '__interrupt__' THEN w.type END,
       CASE WHEN w.channel = '__interrupt__' THEN w.blob END
FROM latest AS l
LEFT JOIN LATERAL (
  SELECT channel, task_path, type, blob FROM checkpoint_writes
  WHERE thread_id = l.thread_id AND checkpoint_ns = '' AND checkpoint_id = l.checkpoint_id
  OFFSET 0) AS w ON true
UNION ALL
SELECT l.thread_id, l.checkpoint_id, 1, w.channel, w.task_path, NULL, NULL
FROM latest AS l
CROSS JOIN LATERAL (
  SELECT channel, task_path FROM checkpoint_writes
  WHERE thread_id = l.thread_id AND checkpoint_ns = ''
    AND checkpoint_id = l.parent_checkpoint_id
    AND (starts_with(channel, 'branch:to:') OR starts_with(channel, 'join:'))
  OFFSET 0) AS w
"""

# One backward primary-key probe per thread asked for.
POSTGRES_HEADS_OF = """
WITH latest AS MATERIALIZED (
  SELECT t.thread_id, c.checkpoint_id, c.parent_checkpoint_id
  FROM unnest(%s::text[]) AS t(thread_id)
  CROSS JOIN LATERAL (
    SELECT checkpoint_id, parent_checkpoint_id FROM checkpoints
    WHERE thread_id = t.thread_id AND checkpoint_ns = ''
    ORDER BY checkpoint_id DESC LIMIT 1) AS c
)""" + _POSTGRES_TAIL  # noqa: S608 (constants only)

# Pages run backwards through the primary key (thread_id, checkpoint_ns, checkpoint_id): its
# order read in reverse puts each thread's latest checkpoint first, so the page streams.
POSTGRES_HEADS_PAGE = """
WITH latest AS MATERIALIZED (
  SELECT DISTINCT ON (thread_id) thread_id, checkpoint_id, parent_checkpoint_id
  FROM checkpoints
  WHERE checkpoint_ns = '' AND (%s::text IS NULL OR thread_id < %s::text)
  ORDER BY thread_id DESC, checkpoint_ns DESC, checkpoint_id DESC LIMIT %s
)""" + _POSTGRES_TAIL  # noqa: S608 (constants only)


@dataclass(frozen=True)
class ThreadHead:
    """A thread's latest checkpoint and what it waits on."""

    thread_id: str
    checkpoint_id: str
    interrupt_ids: frozenset[str] = frozenset()
    next_nodes: frozenset[str] = frozenset()  # set only when the checkpoint has no writes
    ran_nodes: frozenset[str] = frozenset()  # the nodes whose writes produced it (idem)

    def breakpoint_ids(self, before: Collection[str] | str | None = None,
                       after: Collection[str] | str | None = None) -> frozenset[str]:
        """Ids of the static breakpoints the thread stops at (``adapters.breakpoint_id``).

        Without ``before``/``after``, every pending next node counts (enough to tell whether
        a known breakpoint request is still live); with a registration's ``interrupt_before``
        and ``interrupt_after`` (``"*"`` for all), only a stop LangGraph would make.
        """
        if before is not None or after is not None:
            stops = _hits(self.next_nodes, before or ()) or _hits(self.ran_nodes, after or ())
            if not stops:
                return frozenset()
        return frozenset(breakpoint_id(self.checkpoint_id, node) for node in self.next_nodes)

    def live_ids(self) -> frozenset[str]:
        """Every interrupt and breakpoint id the checkpoint may be waiting on."""
        return self.interrupt_ids | self.breakpoint_ids()


def _hits(nodes: frozenset[str], declared: Collection[str] | str) -> bool:
    return bool(nodes) and (declared == "*" or bool(nodes & set(declared)))


@dataclass(frozen=True)
class HeadPage:
    """One keyset page of threads: their heads, and where the next page starts."""

    heads: list[ThreadHead]
    next_after: str | None  # where the next page starts; None: this was the last page


def reads_tables(checkpointer: BaseCheckpointSaver[str]) -> bool:
    """True for the savers whose tables these queries read (any other goes through the API,
    which sees interrupts but not static breakpoints)."""
    return isinstance(checkpointer, AsyncSqliteSaver | AsyncPostgresSaver)


async def heads_of(checkpointer: BaseCheckpointSaver[str], thread_ids: Sequence[str]
                   ) -> dict[str, ThreadHead]:
    """The heads of ``thread_ids``; a thread the checkpointer does not hold is absent."""
    ids = sorted(set(thread_ids))
    if not ids:
        return {}
    if isinstance(checkpointer, AsyncSqliteSaver):
        rows = await _sqlite_rows(checkpointer, SQLITE_HEADS_OF, (json.dumps(ids),))
    elif isinstance(checkpointer, AsyncPostgresSaver):
        rows = await _postgres_rows(checkpointer, POSTGRES_HEADS_OF, (ids,))
    else:
        return await _heads_by_api(checkpointer, ids)
    return {head.thread_id: head for head in _heads(checkpointer, rows)}


async def heads_page(checkpointer: BaseCheckpointSaver[str], *, after: str | None,
                     limit: int) -> HeadPage:
    """The heads of up to ``limit`` threads, from the start (``after=None``) or from where
    the previous page's ``next_after`` says (the order is the index's: ascending thread ids
    on SQLite, descending on PostgreSQL)."""
    if isinstance(checkpointer, AsyncSqliteSaver):
        rows = await _sqlite_rows(checkpointer, SQLITE_HEADS_PAGE, (after or "", limit))
        descending = False
    elif isinstance(checkpointer, AsyncPostgresSaver):
        rows = await _postgres_rows(checkpointer, POSTGRES_HEADS_PAGE, (after, after, limit))
        descending = True
    else:
        raise CheckpointerUnsupported(
            f"cannot list the threads of a {type(checkpointer).__name__}; the sweeper reads "
            "the tables of AsyncSqliteSaver and AsyncPostgresSaver",
            checkpointer=type(checkpointer).__name__)
    heads = sorted(_heads(checkpointer, rows), key=lambda h: h.thread_id, reverse=descending)
    full = len(heads) >= limit
    return HeadPage(heads=heads, next_after=heads[-1].thread_id if heads and full else None)


async def _sqlite_rows(saver: AsyncSqliteSaver, sql: str, params: tuple[Any, ...]
                       ) -> list[tuple[Any, ...]]:
    await saver.setup()
    async with saver.lock, saver.conn.execute(sql, params) as cursor:
        rows = await cursor.fetchall()
    if saver.conn.in_transaction:  # a read opened one; release the snapshot
        await saver.conn.commit()
    return [tuple(row) for row in rows]


@asynccontextmanager
async def _postgres_connection(saver: AsyncPostgresSaver) -> AsyncIterator[AsyncConnection[Any]]:
    if isinstance(saver.conn, AsyncConnection):
        async with saver.lock:  # one connection is shared with the saver: take turns
            yield saver.conn
    else:
        async with saver.conn.connection() as conn:
            yield conn


async def _postgres_rows(saver: AsyncPostgresSaver, sql: str, params: tuple[Any, ...]
                         ) -> list[tuple[Any, ...]]:
    async with _postgres_connection(saver) as conn, conn.cursor(row_factory=tuple_row) as cur:
        await cur.execute(sql, params)
        return list(await cur.fetchall())


def _heads(checkpointer: BaseCheckpointSaver[str], rows: Iterable[tuple[Any, ...]]
           ) -> list[ThreadHead]:
    found: dict[str, tuple[str, set[str], set[str], set[str], list[bool]]] = {}
    for thread_id, checkpoint_id, parent, channel, task_path, kind, value in rows:
        _, interrupts, after, ran, written = found.setdefault(
            thread_id, (checkpoint_id, set(), set(), set(), [False]))
        if parent:
            after.add(_triggered_node(channel))
            ran.update(_node_of(task_path))
        elif channel is not None:
            written[0] = True
            if channel == INTERRUPT and value is not None:
                interrupts.update(_interrupt_ids(checkpointer, kind, value))
    # a checkpoint with writes has started its next step: that is no breakpoint
    return [ThreadHead(thread_id=thread_id, checkpoint_id=checkpoint_id,
                       interrupt_ids=frozenset(interrupts),
                       next_nodes=frozenset(() if written[0] else after),
                       ran_nodes=frozenset(() if written[0] else ran))
            for thread_id, (checkpoint_id, interrupts, after, ran, written) in found.items()]


def _triggered_node(channel: str) -> str:
    # branch:to:<node>, or join:<a>+<b>:<node>
    return channel.removeprefix("branch:to:") if channel.startswith("branch:to:") \
        else channel.rsplit(":", 1)[-1]


def _node_of(task_path: str | None) -> list[str]:
    # "~__pregel_pull, <node>" for a node pulled by its triggers
    if not task_path or "," not in task_path:
        return []
    return [task_path.split(",", 1)[1].strip()]


def _interrupt_ids(checkpointer: BaseCheckpointSaver[str], kind: str, value: bytes) -> set[str]:
    decoded = checkpointer.serde.loads_typed((kind, bytes(value)))
    items = decoded if isinstance(decoded, list | tuple) else [decoded]
    return {str(item.id) for item in items if getattr(item, "id", None)}


async def _heads_by_api(checkpointer: BaseCheckpointSaver[str], ids: Sequence[str]
                        ) -> dict[str, ThreadHead]:
    """Any other saver: one ``aget_tuple`` per thread (interrupts only, no breakpoints)."""
    heads = {}
    for thread_id in ids:
        found = await checkpointer.aget_tuple({"configurable": {"thread_id": thread_id}})
        if found is None:
            continue
        interrupts = {str(item.id) for task_id, channel, value in found.pending_writes or ()
                      if channel == INTERRUPT
                      for item in (value if isinstance(value, list | tuple) else [value])}
        heads[thread_id] = ThreadHead(
            thread_id=thread_id, checkpoint_id=str(found.config["configurable"]["checkpoint_id"]),
            interrupt_ids=frozenset(interrupts))
    return heads
