"""``oversight db``: migrations."""

from __future__ import annotations

import typer

from oversight import db
from oversight.cli.context import command_context

app = typer.Typer(help="Database schema migrations.", no_args_is_help=True)


@app.command("upgrade")
def upgrade(revision: str = typer.Argument("head", help="Target Alembic revision.")) -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    ctx = command_context()
    url = ctx.settings.resolved_database_url
    db.upgrade(url, revision)
    engine = db.create_db_engine(url)
    typer.echo(f"database at revision {db.current_revision(engine)}")
    engine.dispose()


@app.command("current")
def current() -> None:
    """Print the database's current revision."""
    ctx = command_context()
    engine = db.create_db_engine(ctx.settings.resolved_database_url)
    typer.echo(db.current_revision(engine) or "empty (no revision)")
    engine.dispose()
