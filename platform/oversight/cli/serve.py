"""``oversight serve``: the HTTP API and the approval inbox."""

from __future__ import annotations

import typer

from oversight.cli.context import command_context, fail


def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    dev: bool = typer.Option(
        False, "--dev",
        help="A development run: without an OIDC issuer, use the built-in development "
        "identity provider (never in production).",
    ),
) -> None:
    """Serve the API (and UI) with the configured database, policies, graphs and issuer."""
    import uvicorn

    from oversight.api.app import create_app
    from oversight.auth.settings import auth_settings_from_environment

    ctx = command_context()
    settings = ctx.settings
    auth = auth_settings_from_environment()
    if not auth.oidc_issuer and not dev:
        raise fail("no OpenID Connect issuer is configured: set OVERSIGHT_OIDC_ISSUER, "
                   "OVERSIGHT_OIDC_CLIENT_ID and OVERSIGHT_OIDC_CLIENT_SECRET, or pass --dev "
                   "for a development run with the built-in development identity provider",
                   code=2)
    if not auth.oidc_issuer:
        auth = auth.for_development(f"http://{host}:{port}")
    uvicorn.run(create_app(settings, auth=auth), host=host, port=port, log_config=None)
