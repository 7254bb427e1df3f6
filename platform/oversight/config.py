"""Settings: one pydantic-settings class, read from ``OVERSIGHT_*`` variables or a ``.env`` file.

Build it once at the edge (CLI command, server start-up) and pass it down; modules never read
``os.environ`` themselves.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from oversight.notify.channels import ChannelConfig

DEFAULT_HOME = Path(".oversight")


class Settings(BaseSettings):
    """Everything Oversight can be told from its environment."""

    model_config = SettingsConfigDict(
        env_prefix="OVERSIGHT_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    home: Path = Field(
        default=DEFAULT_HOME,
        description="Folder for embedded defaults: the SQLite database and development keys.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy-style URL; default a SQLite file under `home`.",
    )
    log_format: Literal["auto", "json", "console"] = "auto"
    log_level: str = "INFO"

    ledger_origin: str = Field(
        default="oversight.example/dev-ledger",
        description="Origin line of signed checkpoints (a schema-less URL naming this ledger).",
    )
    signing_key_file: Path | None = Field(
        default=None, description="Path of the Ed25519 private key (PEM, PKCS#8) that signs checkpoints."
    )
    signing_key: str | None = Field(
        default=None, description="The Ed25519 private key itself (PEM), instead of a file."
    )
    retired_keys_file: Path | None = Field(
        default=None,
        description="File of verifier key strings, one a line, of keys that signed earlier checkpoints.",
    )
    policy_paths: list[Path] | None = Field(
        default=None,
        description="Policy files or folders (JSON list); default: the shipped `policies/`.",
    )
    graphs: dict[str, str] = Field(
        default_factory=dict,
        description='Graphs to run, as JSON: {"name": "module:attribute"} of a StateGraph '
        "builder, a function returning one, or a compiled graph.",
    )
    stop_roles: list[str] = Field(
        default_factory=list,
        description="Roles besides admin that may press the stop button (JSON list).",
    )
    runner_interval_seconds: float = Field(default=1.0, gt=0,
                                           description="How often the server looks for resumes "
                                           "queued by other processes.")
    policy_reload_seconds: float = Field(default=5.0, ge=0,
                                         description="How often policy files are checked for "
                                         "changes (0 disables).")
    max_body_bytes: int = Field(default=1 << 20, gt=0, description="Largest request body.")
    sweeper_enabled: bool = Field(default=True, description="Run the sweeper in the server.")
    sweeper_interval_seconds: float = Field(default=5.0, gt=0)
    sweeper_batch_size: int = Field(default=500, gt=0)
    sweeper_scan_every_seconds: float = Field(
        default=30.0, gt=0, description="How often the checkpointer is scanned for drift.")
    sweeper_settle_seconds: float = Field(
        default=60.0, ge=0, description="How old drift must be before it is repaired.")
    seal_interval_seconds: float = Field(default=0.5, gt=0)
    seal_batch_size: int = Field(default=5000, gt=0)
    notify_channels: dict[str, ChannelConfig] = Field(
        default_factory=dict,
        description='What the channels policies name are, as JSON: {"dba-oncall": {"kind": '
        '"slack", "url": "…"}}; kinds webhook, slack and email (see docs/operators.md).')
    notify_interval_seconds: float = Field(default=2.0, gt=0,
                                           description="How often queued notifications are sent.")

    @cached_property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to ``sqlite:///<home>/oversight.db``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.home / 'oversight.db'}"

    @property
    def is_embedded_default(self) -> bool:
        """True when nothing was configured and the SQLite file under ``home`` is used."""
        return self.database_url is None


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment, with explicit overrides winning."""
    return Settings(**overrides)  # type: ignore[arg-type]
