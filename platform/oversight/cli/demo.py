"""``oversight demo``: the inbox with demo users, or the reference scenarios scripted.

Runs on the embedded defaults (a SQLite file and a development signing key under
``.oversight/``), the shipped policies and the demo graphs. By default it serves the UI with
the development identity provider and the reference scenarios' requests waiting, and prints
the URL and the people to sign in as. With ``--non-interactive`` it runs the scenarios
through the gateway on the terminal; at the end the ledger is sealed, exported as a bundle and
checked by the offline verifier.
"""

from __future__ import annotations

import asyncio
import datetime as dt

import typer

from oversight.approvals.models import ApprovalRequest
from oversight.cli.context import CommandContext, command_context
from oversight.demo.graphs import TRAVEL_RESUME_VALUES, sql_agent, travel
from oversight.demo.story import SCENARIOS, DemoClock, Step, run_scenario
from oversight.demo.users import DEMO_USERS, demo_user
from oversight.gateway.runtime import open_gateway, policy_paths, shipped_policies
from oversight.gateway.service import Gateway
from oversight.ledger import export, keys, service
from oversight.ledger.sealing import Sequencer
from oversight.policy import load_policy_set
from oversight.sweeper.service import Sweeper
from oversight_audit import verify_bundle


def _scripted(request: ApprovalRequest, step: Step) -> Step:
    return step


async def _run(ctx: CommandContext) -> None:
    clock = DemoClock()
    policy = load_policy_set([*policy_paths(ctx.settings), shipped_policies() / "demo"])
    async with open_gateway(ctx.settings, ctx.sessions, clock=clock,
                            evaluate=policy.evaluate) as gateway:
        gateway.register("sql_agent", sql_agent)
        gateway.register("travel", travel, resume_values=TRAVEL_RESUME_VALUES,
                         actions={"approval": "travel.book"})
        for number, scenario in enumerate(SCENARIOS, start=1):
            typer.echo(f"\n{number}. {scenario.title}")
            view = await run_scenario(gateway, clock, scenario, _scripted, typer.echo)
            outcome = view.values.get("result") or view.values.get("booking") or view.error
            typer.echo(f"   thread {view.id}: {view.status} — {outcome}")
        await _expiry(gateway, clock)


async def _expiry(gateway: Gateway, clock: DemoClock) -> None:
    """Nobody answers a booking; the demo rule's 2-minute deadline passes; the sweeper acts."""
    typer.echo(f"\n{len(SCENARIOS) + 1}. Nobody answers a booking: it expires "
               "(policies/demo/short-deadlines.yaml gives it 2 minutes)")
    view = await gateway.start("travel", {"traveller": "tara", "destination": "Porto"},
                               requester=demo_user("riley", signed_in_at=clock()))
    typer.echo(f"   pending: {view.pending[0].action} (rule {view.pending[0].rule_id}), "
               f"deadline {view.pending[0].deadline_at:%H:%M:%S} UTC")
    clock.read_for(3 * 60)
    summary = await Sweeper(gateway, settle=dt.timedelta(0)).run_pass()
    typer.echo(f"   three minutes later the sweeper runs: {summary.expired} expired")
    after = await gateway.thread(view.id)
    typer.echo(f"   thread {view.id}: {after.status} — nothing was booked")


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
    ctx = command_context()
    settings = ctx.settings
    signer = keys.load_signer(settings)
    typer.echo(f"Oversight demo: database {settings.resolved_database_url}")
    typer.echo(f"checkpoint signing key (development): {signer.verifier_key()}")
    sequencer = Sequencer(ctx.sessions, signer=signer, origin=settings.ledger_origin,
                          interval=settings.seal_interval_seconds)
    sequencer.start()
    try:
        asyncio.run(_run(ctx))
    finally:
        sequencer.stop(final_seal=True)
    out = settings.home / "exports" / dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    with ctx.sessions() as session:
        size = service.tree_size(session)
        published = keys.published_keys(session, settings)
        result = export.export_bundle(session, out, origin=settings.ledger_origin, keys=published)
    report = verify_bundle(out, keys=[signer.verifier_key()])
    typer.echo(f"\nThe ledger holds {size} records, sealed under signed checkpoints.")
    typer.echo(f"Exported records {result.first_seq}..{result.last_seq} to {out}")
    typer.echo(f"Offline verification: intact ({report.record_count} records checked).")
    typer.echo(f"Verify it yourself:  python -m oversight_audit verify {out}")


def _serve(host: str, port: int) -> None:
    import uvicorn

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
