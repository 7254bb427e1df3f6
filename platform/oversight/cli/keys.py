"""``oversight keys``: checkpoint signing keys."""

from __future__ import annotations

from pathlib import Path

import typer

from oversight.cli.context import command_context, fail_on_error
from oversight.errors import OversightError
from oversight.ledger.keys import generate_key_pair

app = typer.Typer(help="Checkpoint signing keys.", no_args_is_help=True)


@app.command("generate")
def generate(
    out: Path = typer.Option(Path("keys"), "--out", help="Folder to write the key pair into."),
    name: str | None = typer.Option(
        None, help="Key name (default: the ledger origin, OVERSIGHT_LEDGER_ORIGIN)."
    ),
    overwrite: bool = typer.Option(False, help="Replace an existing key file."),
) -> None:
    """Write an Ed25519 key pair: NAME.pem (mode 0600) and NAME.pub (verifier key)."""
    ctx = command_context()
    try:
        private, verifier = generate_key_pair(out, name=name or ctx.settings.ledger_origin,
                                              overwrite=overwrite)
    except OversightError as exc:
        raise fail_on_error(exc) from exc
    typer.echo(f"private key: {private} (mode 0600; set OVERSIGHT_SIGNING_KEY_FILE={private})")
    typer.echo(f"verifier key: {verifier}")
