"""``oversight sweeper``: make deadlines real outside the server (a loop, or one pass)."""

from __future__ import annotations

import asyncio
import json
import signal
from typing import TYPE_CHECKING

import typer

from oversight.cli.context import CommandContext, command_context, fail_on_error
from oversight.errors import OversightError

if TYPE_CHECKING:
    from oversight.sweeper.loop import SweeperOptions
    from oversight.sweeper.service import PassSummary

app = typer.Typer(help="The sweeper: deadlines, escalations, drift with the checkpointer.",
                  no_args_is_help=True)


async def _run(ctx: CommandContext, options: SweeperOptions, once: bool) -> PassSummary | None:
    from oversight.gateway.runtime import open_gateway  # LangGraph: only when the command runs
    from oversight.sweeper.loop import run_forever

    async with open_gateway(ctx.settings, ctx.sessions) as gateway:
        sweeper = options.sweeper(gateway)
        if once:
            return await sweeper.run_pass(scan=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        typer.echo(f"sweeper: a pass every {options.interval:g} s, {options.batch} requests a "
                   f"batch, graphs: {', '.join(gateway.registry.names()) or 'none'}; "
                   "Ctrl-C stops", err=True)
        passes = await run_forever(sweeper, interval=options.interval, stop=stop)
        typer.echo(f"sweeper: stopped after {passes} passes", err=True)
        return None


@app.command("run")
def run(
    once: bool = typer.Option(False, "--once",
                              help="Run one pass, print what it did and exit (1 when a step "
                                   "failed)."),
    interval: float | None = typer.Option(
        None, "--interval", min=0.05, help="Seconds between passes (default 5, or "
        "OVERSIGHT_SWEEPER_INTERVAL_SECONDS)."),
    batch: int | None = typer.Option(
        None, "--batch", min=1, help="Requests claimed per transaction (default 500, or "
        "OVERSIGHT_SWEEPER_BATCH_SIZE)."),
    as_json: bool = typer.Option(False, "--json", help="With --once: print the summary as JSON."),
) -> None:
    """Reject, expire or escalate what passed its deadline; repair drift with the checkpointer.

    Run it with the same OVERSIGHT_GRAPHS as the server: a thread whose graph is not
    registered cannot be resumed and is failed (unless no graph is registered at all).
    """
    from oversight.sweeper.loop import SweeperOptions

    ctx = command_context()
    options = SweeperOptions.from_settings(ctx.settings, interval=interval, batch=batch)
    try:
        summary = asyncio.run(_run(ctx, options, once))
    except OversightError as exc:
        raise fail_on_error(exc) from exc
    if summary is None:
        return
    typer.echo(json.dumps(summary.as_dict()) if as_json else f"sweeper: {summary.describe()}")
    if summary.errors:
        raise typer.Exit(1)
