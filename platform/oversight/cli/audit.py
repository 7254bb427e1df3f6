"""``oversight audit``: seal, export, verify, receipts and erasure."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import typer

from oversight.cli.context import CommandContext, command_context, fail, fail_on_error
from oversight.errors import OversightError
from oversight.ledger import export, keys, service
from oversight.ledger.actors import SystemActor
from oversight.ledger.sealing import seal_all
from oversight_audit import VerificationError, verify_bundle

app = typer.Typer(help="The audit ledger: seal, export, verify, receipts, erasure.",
                  no_args_is_help=True)


def _parse_time(value: str | None, option: str) -> dt.datetime | None:
    if value is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise fail(f"{option}: {value!r} is not an ISO 8601 time (e.g. 2026-11-25T09:00:00Z)",
                   code=2) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _seal(ctx: CommandContext) -> int:
    return seal_all(ctx.sessions, signer=keys.load_signer(ctx.settings),
                    origin=ctx.settings.ledger_origin, batch_size=ctx.settings.seal_batch_size)


@app.command("seal")
def seal() -> None:
    """Seal every queued record now and sign a checkpoint."""
    ctx = command_context()
    try:
        sealed = _seal(ctx)
    except OversightError as exc:
        raise fail_on_error(exc) from exc
    with ctx.sessions() as session:
        typer.echo(f"sealed {sealed} records; the ledger holds {service.tree_size(session)}")


def _export(ctx: CommandContext, out: Path, since: dt.datetime | None,
            until: dt.datetime | None) -> export.ExportResult:
    _seal(ctx)
    with ctx.sessions() as session:
        return export.export_bundle(
            session, out, origin=ctx.settings.ledger_origin,
            keys=keys.published_keys(session, ctx.settings), since=since, until=until)


@app.command("export")
def export_command(
    out: Path = typer.Option(..., "--out", help="Folder to write the bundle into (new or empty)."),
    since: str | None = typer.Option(None, help="First time to include (ISO 8601)."),
    until: str | None = typer.Option(None, help="Time to stop before (ISO 8601)."),
) -> None:
    """Write a bundle that `python -m oversight_audit verify` checks offline."""
    ctx = command_context()
    try:
        result = _export(ctx, out, _parse_time(since, "--since"), _parse_time(until, "--until"))
    except OversightError as exc:
        raise fail_on_error(exc) from exc
    typer.echo(f"exported records {result.first_seq}..{result.last_seq} ({result.records}) to "
               f"{result.path}; checkpoint at tree size {result.checkpoint_size}")
    typer.echo(f"verify offline with: python -m oversight_audit verify {result.path}")


@app.command("verify")
def verify() -> None:
    """Verify the whole ledger in the database with the offline verifier's own checks."""
    ctx = command_context()
    with tempfile.TemporaryDirectory(prefix="oversight-verify-") as tmp:
        try:
            result = _export(ctx, Path(tmp) / "bundle", None, None)
        except OversightError as exc:
            raise fail_on_error(exc) from exc
        try:
            report = verify_bundle(Path(tmp) / "bundle", keys=None)
        except VerificationError as exc:
            raise fail(f"the ledger does NOT verify: {exc}", code=1) from exc
    typer.echo(f"ledger intact: {report.record_count} records, seq {result.first_seq}.."
               f"{result.last_seq}, checkpoint at tree size {result.checkpoint_size}")


@app.command("receipt")
def receipt(
    seq: int = typer.Argument(..., help="The record's sequence number."),
    out: Path | None = typer.Option(None, "--out", help="File to write (default: stdout)."),
) -> None:
    """A receipt for one record that verifies on its own (`python -m oversight_audit receipt`)."""
    ctx = command_context()
    try:
        _seal(ctx)
        with ctx.sessions() as session:
            built = export.build_receipt(session, seq=seq,
                                         keys=keys.published_keys(session, ctx.settings))
    except OversightError as exc:
        raise fail_on_error(exc) from exc
    data = built.to_json()
    if out is None:
        typer.echo(data.decode())
    else:
        out.write_bytes(data)
        typer.echo(f"receipt for record {seq} written to {out}")


@app.command("erase")
def erase(
    seq: int = typer.Argument(..., help="The record whose payload to erase."),
    reason: str = typer.Option(..., help="Why (recorded in the ledger)."),
) -> None:
    """Erase a record's payload (GDPR Art. 17); the chain still verifies."""
    ctx = command_context()
    try:
        with ctx.sessions() as session, session.begin():
            service.erase_payload(session, seq=seq, reason=reason, actor=SystemActor("cli"))
        _seal(ctx)
    except OversightError as exc:
        raise fail_on_error(exc) from exc
    typer.echo(f"payload of record {seq} erased; the erasure is recorded in the ledger")
