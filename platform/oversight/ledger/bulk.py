"""Taking a batch off the queue, and writing its records, payloads and tree nodes.

A batch is thousands of rows in four tables, so it bypasses the ORM's unit of work and
SQLAlchemy's per-row parameter handling: ``COPY … FROM STDIN`` on PostgreSQL, the driver's
``executemany`` on SQLite, all inside the caller's transaction, so a sequencer killed
mid-batch leaves nothing behind. Records are streamed as they are computed, so on PostgreSQL
the server stores and indexes them while the sequencer hashes the next ones.

The batch is read and deleted from the queue up front. On PostgreSQL in one statement,
``DELETE … WHERE id <= (the batch's last id) RETURNING …``: a statement sees one snapshot, so
it deletes exactly the rows it found, never a row that commits meanwhile with an id inside the
batch's range (under READ COMMITTED a separate delete by range could, and lose that record).
On SQLite, a ``SELECT`` then a delete by id range whose count must be the batch's: a writing
transaction there sees no commit but its own from its first read on.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.orm import Session

from oversight.errors import LedgerCorrupted, LedgerError
from oversight.ledger.models import LedgerNode, LedgerPayload, LedgerQueueEntry, LedgerRecord

_RECORD_TABLE: Table = LedgerRecord.__table__  # type: ignore[assignment]
_PAYLOAD_TABLE: Table = LedgerPayload.__table__  # type: ignore[assignment]
_NODE_TABLE: Table = LedgerNode.__table__  # type: ignore[assignment]
_QUEUE_TABLE: Table = LedgerQueueEntry.__table__  # type: ignore[assignment]

#: Column order of the rows ``write_sealed_batch`` takes; ``time`` as the record has it.
RECORD_COLUMNS = ("seq", "prev", "hash", "time", "action", "actor", "thread_id", "approval_id",
                  "line")
PAYLOAD_COLUMNS = ("seq", "payload", "key")
NODE_COLUMNS = ("level", "index", "hash")
_TIME = RECORD_COLUMNS.index("time")
_COPY_CHUNK = 500  # rows a write: the server stores a chunk while the next is computed

Row = tuple[Any, ...]
#: A queued record as ``take_queued`` returns it: id, fields, payload, payload key.
QueueRow = tuple[int, str, str | None, bytes | None]


def _connection(session: Session) -> Connection:
    connection = session.connection()
    if connection.dialect.name not in ("postgresql", "sqlite"):
        raise LedgerError(f"sealing needs PostgreSQL or SQLite, not {connection.dialect.name}")
    return connection


def take_queued(session: Session, *, limit: int) -> list[QueueRow]:
    """Remove the oldest ``limit`` queued records in the session's transaction; return them."""
    connection = _connection(session)
    queue = connection.dialect.identifier_preparer.quote(_QUEUE_TABLE.name)
    columns = "id, fields, payload, payload_key"
    if connection.dialect.name == "postgresql":
        raw: Any = connection.connection.driver_connection
        with raw.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {queue} WHERE id <= (SELECT max(id) FROM "  # noqa: S608
                f"(SELECT id FROM {queue} ORDER BY id LIMIT %s) AS batch) RETURNING {columns}",
                (limit,))
            taken: list[QueueRow] = sorted(cursor.fetchall(), key=_first)
        return taken
    result = connection.exec_driver_sql(
        f"SELECT {columns} FROM {queue} ORDER BY id LIMIT ?", (limit,))  # noqa: S608
    rows: list[QueueRow] = [(int(row[0]), row[1], row[2], row[3]) for row in result]
    if rows:
        deleted = connection.exec_driver_sql(
            f"DELETE FROM {queue} WHERE id BETWEEN ? AND ?", (rows[0][0], rows[-1][0])  # noqa: S608
        ).rowcount
        if deleted != len(rows):
            raise LedgerCorrupted(f"taking {len(rows)} queued records deleted {deleted} "
                                  "queue rows; the batch is rolled back")
    return rows


def _first(row: QueueRow) -> int:
    return row[0]


def write_sealed_batch(
    session: Session,
    *,
    records: Iterable[Row],
    payloads: Sequence[Row],
    nodes: Sequence[Row],
) -> None:
    """Insert a sealed batch's rows, in the session's transaction.

    ``records`` is consumed first, as it is produced; ``payloads`` and ``nodes`` are read
    only after it is exhausted, so the generator of ``records`` may fill them as it goes.
    """
    connection = _connection(session)
    if connection.dialect.name == "postgresql":
        _write_postgresql(connection, records, payloads, nodes)
    else:
        _write_sqlite(connection, records, payloads, nodes)


def _write_postgresql(connection: Connection, records: Iterable[Row], payloads: Sequence[Row],
                      nodes: Sequence[Row]) -> None:
    raw: Any = connection.connection.driver_connection
    quote = connection.dialect.identifier_preparer.quote
    with raw.cursor() as cursor:
        for table, columns, rows, line in ((_RECORD_TABLE, RECORD_COLUMNS, records, _record_line),
                                           (_PAYLOAD_TABLE, PAYLOAD_COLUMNS, payloads, _payload_line),
                                           (_NODE_TABLE, NODE_COLUMNS, nodes, _node_line)):
            names = ", ".join(quote(c) for c in columns)
            with cursor.copy(f"COPY {quote(table.name)} ({names}) FROM STDIN") as copy:
                chunk: list[str] = []
                for row in rows:
                    chunk.append(line(row))
                    if len(chunk) == _COPY_CHUNK:
                        copy.write("".join(chunk))
                        chunk.clear()
                copy.write("".join(chunk))


# COPY's text format: one line a row, tab-separated, \N for NULL, and backslash, tab, newline
# and carriage return escaped with a backslash; bytea as \x and hex, its backslash doubled.
# Written here rather than by psycopg's write_row, which costs several times more per row.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _text(value: str) -> str:
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.translate(_COPY_ESCAPES)
    return value


def _nullable_text(value: str | None) -> str:
    return "\\N" if value is None else _text(value)


def _nullable_bytea(value: bytes | None) -> str:
    return "\\N" if value is None else f"\\\\x{value.hex()}"


def _record_line(row: Row) -> str:
    # the server parses the record's RFC 3339 UTC time into the timestamptz column
    seq, prev, hash_, time, action, actor, thread_id, approval_id, line = row
    return (f"{int(seq)}\t{_text(prev)}\t{_text(hash_)}\t{_text(time)}\t{_text(action)}\t"
            f"{_text(actor)}\t{_nullable_text(thread_id)}\t{_nullable_text(approval_id)}\t"
            f"{_text(line)}\n")


def _payload_line(row: Row) -> str:
    seq, payload, key = row
    return f"{int(seq)}\t{_nullable_text(payload)}\t{_nullable_bytea(key)}\n"


def _node_line(row: Row) -> str:
    level, index, value = row
    return f"{int(level)}\t{int(index)}\t{_nullable_bytea(value)}\n"


def _write_sqlite(connection: Connection, records: Iterable[Row], payloads: Sequence[Row],
                  nodes: Sequence[Row]) -> None:
    quote = connection.dialect.identifier_preparer.quote
    to_time = _sqlite_time(connection)
    stored = [(*row[:_TIME], to_time(row[_TIME]), *row[_TIME + 1:]) for row in records]
    for table, columns, rows in ((_RECORD_TABLE, RECORD_COLUMNS, stored),
                                 (_PAYLOAD_TABLE, PAYLOAD_COLUMNS, payloads),
                                 (_NODE_TABLE, NODE_COLUMNS, nodes)):
        if rows:
            names = ", ".join(quote(c) for c in columns)
            marks = ", ".join("?" * len(columns))
            connection.exec_driver_sql(
                f"INSERT INTO {quote(table.name)} ({names}) VALUES ({marks})",  # noqa: S608
                list(rows))


def _sqlite_time(connection: Connection) -> Callable[[str], Any]:
    """How a record's ``time`` is stored on SQLite: as the column type would store it.

    The type writes UTC as ``YYYY-MM-DD HH:MM:SS.ffffff``, the record's text without ``T``
    and ``Z``; checked against the type's own processor, which is used should they differ.
    """
    dialect = connection.dialect
    processor = _RECORD_TABLE.c.time.type.dialect_impl(dialect).bind_processor(dialect)

    def exact(text: str) -> Any:
        moment = dt.datetime.fromisoformat(text)
        return processor(moment) if processor is not None else moment

    def sliced(text: str) -> str:
        return f"{text[:10]} {text[11:26]}"

    samples = ("2026-11-25T04:05:06.123456Z", "1999-12-31T23:59:59.000000Z")
    return sliced if all(exact(s) == sliced(s) for s in samples) else exact
