"""``oversight demo``: an approval story told through the real ledger, then verified offline.

It runs on the embedded defaults (a SQLite file and a development signing key under
``.oversight/``). Every step goes through the real append path; the background sequencer
seals; the ledger is exported as a bundle and checked by the offline verifier.
"""

from __future__ import annotations

import datetime as dt
import uuid

import typer
from oversight_audit import verify_bundle, verify_receipt

from oversight.cli.context import command_context
from oversight.ledger import export, keys, service
from oversight.ledger.actors import SystemActor, UserActor
from oversight.ledger.sealing import Sequencer

DEV_ISSUER = "http://127.0.0.1/dev-idp"
REQUESTER = UserActor(issuer=DEV_ISSUER, subject="riley", name="Riley Requester",
                      roles=("requester",), acr="urn:oversight:dev:pwd", amr=("pwd",))
DBA = UserActor(issuer=DEV_ISSUER, subject="dana", name="Dana DBA", roles=("dba",),
                acr="urn:oversight:dev:mfa", amr=("pwd", "otp"))
QUERY = "DELETE FROM users WHERE last_login < '2025-01-01'"


def _ask(non_interactive: bool) -> str:
    if non_interactive:
        typer.echo("  Dana DBA approves (--non-interactive).")
        return "approve"
    choice = typer.prompt("  Decide as Dana DBA: [a]pprove or [r]eject", default="a")
    return "reject" if choice.strip().lower().startswith("r") else "approve"


def demo(
    non_interactive: bool = typer.Option(
        False, "--non-interactive", help="Run the whole story without prompts."
    ),
) -> None:
    """Walk an approval through the ledger, seal it, export it and verify it offline."""
    ctx = command_context()
    settings = ctx.settings
    signer = keys.load_signer(settings)
    typer.echo(f"Oversight demo: database {settings.resolved_database_url}")
    typer.echo(f"checkpoint signing key: {signer.verifier_key()}")
    sequencer = Sequencer(ctx.sessions, signer=signer, origin=settings.ledger_origin,
                          interval=settings.seal_interval_seconds)
    sequencer.start()
    thread, interrupt, approval = (str(uuid.uuid4()) for _ in range(3))
    subject = {"graph": "sql_agent", "thread": thread, "interrupt": interrupt,
               "approval": approval}
    policy = "sha256:" + "0" * 64
    payload = {"query": QUERY, "database": "production", "operation": "DELETE"}

    def record(action: str, actor: UserActor | SystemActor, **fields: object) -> None:
        with ctx.sessions() as session, session.begin():
            service.append_record(session, action=action, actor=actor, subject=subject,
                                  policy=policy, **fields)  # type: ignore[arg-type]
        typer.echo(f"  ledger <- {action} by {actor.id}")

    typer.echo(f"\n1. Riley starts the SQL agent (thread {thread}).")
    record("run.started", REQUESTER)
    typer.echo(f"2. The agent wants to run on production:\n     {QUERY}")
    record("interrupt.raised", SystemActor("gateway"), payload=payload, data={"node": "review"})
    record("policy.evaluated", SystemActor("policy"),
           data={"rule": "sql-writes-need-dba", "outcome": "require"})
    record("approval.requested", SystemActor("gateway"),
           data={"groups": [{"role": "dba", "count": 1}], "deadline": "PT4H"})
    typer.echo("3. The request waits for one DBA. Dana opens it.")
    record("approval.viewed", DBA, data={"payload_digest_shown": True})
    decision = _ask(non_interactive)
    record("decision.recorded", DBA, data={"outcome": decision, "final": True})
    resumed = "approved" if decision == "approve" else "rejected"
    record("resume.applied", SystemActor("runner"), data={"resume": resumed})
    typer.echo(f"4. The graph resumed with {resumed!r}.")

    sequencer.stop(final_seal=True)
    with ctx.sessions() as session:
        size = service.tree_size(session)
        out = settings.home / "exports" / dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        result = export.export_bundle(session, out, origin=settings.ledger_origin,
                                      keys=keys.published_keys(session, settings))
        receipt = export.build_receipt(session, seq=size - 2,
                                       keys=keys.published_keys(session, settings))
    typer.echo(f"\n5. Sealed: the ledger holds {size} records under a signed checkpoint.")
    typer.echo(f"   Exported records {result.first_seq}..{result.last_seq} to {out}")
    report = verify_bundle(out, keys=[signer.verifier_key()])
    typer.echo(f"   Offline verification: intact ({report.record_count} records checked).")
    verified = verify_receipt(receipt, [signer.verifier_key()])
    typer.echo(f"   Receipt for record {verified.seq} ({verified.action}) verifies on its own.")
    typer.echo(f"\nVerify it yourself:  python -m oversight_audit verify {out}")
