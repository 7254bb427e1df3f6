"""The ``oversight`` command: one module per command group."""

from __future__ import annotations

import sys

import typer

from oversight.cli import audit, db, demo, keys, lint, notify, policy, serve, sweeper

app = typer.Typer(
    name="oversight",
    help="Oversight: approval and audit gateway for LangGraph agents.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(db.app, name="db")
app.add_typer(keys.app, name="keys")
app.add_typer(audit.app, name="audit")
app.add_typer(policy.app, name="policy")
app.add_typer(sweeper.app, name="sweeper")
app.add_typer(notify.app, name="notify")
app.command(name="demo")(demo.demo)
app.command(name="lint")(lint.lint)
app.command(name="serve")(serve.serve)


def main() -> None:
    """Console-script entry point."""
    sys.exit(app())
