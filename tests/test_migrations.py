"""The models and the migration history agree, on SQLite and PostgreSQL, both ways."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from oversight import db
from oversight.schema import metadata


def test_models_match_migrations(database_url: str) -> None:
    engine = db.create_db_engine(database_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, metadata)
    engine.dispose()
    assert diff == []


def test_downgrade_then_upgrade_round_trips(database_url: str) -> None:
    engine = db.create_db_engine(database_url)
    db.upgrade(database_url, "head")
    from alembic import command

    command.downgrade(db.alembic_config(database_url), "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    db.upgrade(database_url, "head")
    assert {t.name for t in metadata.sorted_tables} <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_a_database_behind_the_head_is_refused(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = db.create_db_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE something_else (id INTEGER)")
    with pytest.raises(db.SchemaOutOfDate, match="oversight db upgrade"):
        db.ensure_schema(url, engine, auto_upgrade=True)
    engine.dispose()


def test_an_empty_embedded_database_is_migrated(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    engine = db.create_db_engine(url)
    db.ensure_schema(url, engine, auto_upgrade=True)
    assert "ledger_record" in inspect(engine).get_table_names()
    engine.dispose()
