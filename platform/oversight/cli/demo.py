"""``oversight demo``: the inbox with demo users, or the reference scenarios scripted.

Runs on the embedded defaults (a SQLite file and a development signing key under
``.oversight/``), the shipped policies and the demo graphs. By default it serves the UI with
the development identity provider and the reference scenarios' requests waiting, and prints
the URL and the people to sign in as. With ``--non-interactive`` it runs the scenarios
through the gateway on the terminal (``oversight.demo.scripted``).

The demo's modules (LangGraph among them) are imported when the command runs, so that the
other commands start without them.
"""

from __future__ import annotations

import typer

from oversight.cli.context import command_context


def demo(
    non_interactive: bool = typer.Option(
        False, "--non-interactive",
        help="Run the reference scenarios scripted on the terminal, verify the ledger, exit.",
    ),
    host: str = typer.Option("127.0.0.1", help="Interface the demo server listens on."),
    port: int = typer.Option(8000, help="Port the demo server listens on."),
) -> None:
    """Serve the inbox with demo users and waiting requests (or, with --non-interactive, run
    the scenarios scripted and verify the ledger)."""
    if not non_interactive:
        _serve(host, port)
        return
    from oversight.demo.scripted import run_scripted

    ctx = command_context()
    run_scripted(ctx.settings, ctx.sessions, typer.echo)


def _serve(host: str, port: int) -> None:
    import uvicorn

    from oversight.demo.users import DEMO_USERS
    from oversight.demo.web import WAITING, demo_app

    ctx = command_context()
    app, _ = demo_app(ctx.settings, host=host, port=port)
    url = f"http://{host}:{port}/"
    typer.echo(f"Oversight demo: database {ctx.settings.resolved_database_url}")
    typer.echo("DEVELOPMENT ONLY: the built-in identity provider signs anyone in as any demo user.")
    typer.echo(f"\nOpen {url} and sign in as one of these people (no password):")
    for subject, (name, roles, _methods) in DEMO_USERS.items():
        typer.echo(f"  {subject:<7} {name:<16} {', '.join(roles)}")
    typer.echo("\nWaiting in the inbox:")
    for run in WAITING:
        what = run.input.get("request") or f"a trip to {run.input.get('destination')}"
        typer.echo(f"  - {run.graph}: {what} (by {run.requester}) → {run.who_decides}")
    typer.echo("\nStop with Ctrl-C. `oversight demo --non-interactive` runs the story scripted.")
    uvicorn.run(app, host=host, port=port, log_config=None, log_level="warning")
