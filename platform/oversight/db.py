"""The database: engine, sessions, the declarative base and migrations.

One URL serves SQLite and PostgreSQL. ``postgresql://`` URLs are driven by psycopg 3. SQLite
runs in WAL mode with a busy timeout, because the LangGraph checkpointer shares the file.
The edge (a CLI command, a request, a background job) owns the transaction with
``with session.begin():``; services only flush.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import (
    DateTime,
    Engine,
    Insert,
    MetaData,
    Update,
    bindparam,
    create_engine,
    event,
    insert,
    inspect,
    update,
)
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, make_transient_to_detached, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SQLITE_BUSY_TIMEOUT_MS = 30_000
# A pooled PostgreSQL connection idle for longer than this is pinged before it is handed out;
# one returned more recently is used as it is (a round trip saved on every busy transaction).
PING_AFTER_IDLE_SECONDS = 1.0
_CHECKED_IN_AT = "oversight.checked_in_at"


class Base(DeclarativeBase):
    """Declarative base of every Oversight table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where a UTC timestamp is required")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def utcnow() -> dt.datetime:
    """The current time, timezone-aware, in UTC."""
    return dt.datetime.now(dt.UTC)


def sqlalchemy_url(url: str) -> str:
    """Map a user-facing database URL to the driver SQLAlchemy should use."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def libpq_url(url: str) -> str:
    """A PostgreSQL URL without the SQLAlchemy driver suffix, as psycopg and LangGraph take it."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("postgres"):
        raise ValueError(f"not a PostgreSQL URL: {parsed.drivername}")
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def is_postgres(engine_or_url: Engine | str) -> bool:
    """True for a PostgreSQL engine or URL."""
    name = (
        engine_or_url.dialect.name
        if isinstance(engine_or_url, Engine)
        else make_url(engine_or_url).get_backend_name()
    )
    return name in ("postgresql", "postgres")


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    # pysqlite's own BEGIN is deferred and lazy; take the write lock at BEGIN so that two
    # writers queue on the busy timeout instead of failing with "database is locked".
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def create_db_engine(url: str, *, read_only: bool = False, **kwargs: Any) -> Engine:
    """An engine for ``url`` with Oversight's connection settings applied.

    On SQLite every transaction takes the write lock at ``BEGIN IMMEDIATE``, except on a
    ``read_only`` engine, whose deferred transactions read a WAL snapshot and block no one.
    """
    sa_url = sqlalchemy_url(url)
    parsed = make_url(sa_url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            sa_url,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "isolation_level": None},
            **kwargs,
        )
        event.listen(engine, "connect", _sqlite_on_connect)
        if not read_only:
            event.listen(engine, "begin", _sqlite_begin)
        return engine
    engine = create_engine(sa_url, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        _ping_when_idle(engine)
    return engine


def _ping_when_idle(engine: Engine) -> None:
    """Check a pooled connection before use only when it sat idle, instead of on every
    checkout as ``pool_pre_ping`` does: a server restart or an idle timeout still costs no
    failed transaction, and a connection handed from one transaction to the next at once
    costs no extra round trip."""
    dialect = engine.dialect

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info[_CHECKED_IN_AT] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get(_CHECKED_IN_AT)
        if since is None or time.monotonic() - since < PING_AFTER_IDLE_SECONDS:
            return  # a fresh connection, or one in use a moment ago
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as exc:  # the pool replaces it and tries again
            raise DisconnectionError(f"a pooled connection failed its ping: {exc}") from exc


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """A session factory bound to ``engine`` (objects stay usable after commit)."""
    return sessionmaker(bind=engine, expire_on_commit=False)


_INSERTS: dict[type[Base], tuple[Insert, tuple[tuple[str, Any], ...]]] = {}
_NO_DEFAULT = object()


def _unset_value(column: Any) -> Any:
    """What an unset column is written as: its scalar default, else None; a default that is
    computed (a callable, a server default, an autoincrement key) cannot be known here."""
    if column.default is not None:
        return column.default.arg if column.default.is_scalar else _NO_DEFAULT
    if column.server_default is not None or (column.primary_key and column.autoincrement is True):
        return _NO_DEFAULT
    return None


def insert_row(session: Session, obj: Base, *, attach: bool = True) -> None:
    """INSERT a new object's row with one Core statement, instead of the unit of work's
    flush (which costs more CPU than the statement itself on a hot path).

    Every column the object leaves unset takes its scalar ``default`` (else ``None``), on the
    row and on the object, so nothing is left to load. With ``attach`` the object then joins
    the session as persistent, so later changes to it are flushed as ``UPDATE``s. The primary
    key must be set (no autoincrement: there is no ``RETURNING`` here). Objects still pending
    in the session are flushed first, so rows this one refers to exist.
    """
    cls = type(obj)
    if cls not in _INSERTS:
        _INSERTS[cls] = (insert(cls), tuple(
            (attr.key, _unset_value(attr.columns[0])) for attr in inspect(cls).column_attrs))
    statement, columns = _INSERTS[cls]
    state = obj.__dict__
    for key, default in columns:
        if key not in state:
            if default is _NO_DEFAULT:
                raise TypeError(f"insert_row: {cls.__name__}.{key} must be set (its default "
                                "is computed, by Python or by the database)")
            setattr(obj, key, default)
    if session.new:
        session.flush()
    session.connection().execute(statement, {key: state[key] for key, _ in columns})
    if attach:
        make_transient_to_detached(obj)
        session.add(obj)


_UPDATES: dict[type[Base], Update] = {}


def write_changes(session: Session, obj: Base) -> None:
    """UPDATE the columns changed on a persistent object with one Core statement by its
    primary key, and mark them clean (the unit of work's flush of one object costs more CPU
    than the statement). A pending or unchanged object is left to the flush."""
    state = inspect(obj)
    if state.key is None or not state.committed_state:
        return
    cls = type(obj)
    if cls not in _UPDATES:
        [key] = inspect(cls).primary_key  # one-column primary keys only
        _UPDATES[cls] = update(cls).where(key == bindparam("_pk"))
    changed = {key: state.dict[key] for key in state.committed_state}
    session.connection().execute(_UPDATES[cls], {"_pk": state.key[1][0], **changed})
    # what a flush does after it wrote the object (the public set_committed_value leaves
    # the object on the session's modified list, so the flush would still visit it)
    state._commit_all(state.dict, session.identity_map)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """Open a session and a transaction that commits on success and rolls back on error."""
    with factory() as session, session.begin():
        yield session


def migrations_dir() -> Path:
    """Where the Alembic environment lives: inside the wheel, or at the top of a checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_migrations", here.parent.parent / "migrations"):
        if (candidate / "env.py").is_file():
            return candidate
    raise FileNotFoundError("the Alembic migrations folder was not found next to the package")


def alembic_config(url: str) -> Any:
    """An Alembic ``Config`` for ``url`` without an ini file."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.set_main_option("sqlalchemy.url", sqlalchemy_url(url).replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Apply migrations up to ``revision``."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def current_revision(engine: Engine) -> str | None:
    """The database's Alembic revision, or None for an empty database."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def ensure_schema(url: str, engine: Engine, *, auto_upgrade: bool) -> None:
    """Migrate an empty embedded database; refuse a database that is behind."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    current = current_revision(engine)
    if current == head:
        return
    if current is None and auto_upgrade and not inspect(engine).get_table_names():
        upgrade(url)
        return
    raise SchemaOutOfDate(current=current, head=head)


class SchemaOutOfDate(RuntimeError):
    """The database schema is not at the migration head."""

    def __init__(self, *, current: str | None, head: str | None) -> None:
        super().__init__(
            f"the database schema is at revision {current or 'none'} but this version of "
            f"Oversight needs {head}; run `oversight db upgrade`"
        )
        self.current = current
        self.head = head
