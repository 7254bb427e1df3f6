"""What every command needs: settings, logging, and the database, built once at the edge."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import typer
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from oversight import db
from oversight.config import Settings, load_settings
from oversight.errors import OversightError
from oversight.logs import configure_logging


@dataclass
class CommandContext:
    """Settings and lazily opened database handles for one CLI invocation."""

    settings: Settings

    @cached_property
    def engine(self) -> Engine:
        engine = db.create_db_engine(self.settings.resolved_database_url)
        db.ensure_schema(self.settings.resolved_database_url, engine,
                         auto_upgrade=self.settings.is_embedded_default)
        return engine

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        return db.session_factory(self.engine)


def command_context() -> CommandContext:
    """Read settings and configure logging for a command."""
    settings = load_settings()
    configure_logging(settings.log_format, settings.log_level)
    return CommandContext(settings=settings)


def fail(message: str, *, code: int = 1) -> typer.Exit:
    """Print ``message`` to stderr and return the ``typer.Exit`` to raise."""
    typer.echo(message, err=True)
    return typer.Exit(code)


def fail_on_error(exc: OversightError) -> typer.Exit:
    """Render an Oversight error for a person: the title, the detail."""
    return fail(f"error: {exc.detail}", code=2 if exc.status < 500 else 1)
