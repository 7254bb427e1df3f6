"""``oversight sweeper run --once`` and the background loop the server runs."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

from oversight.cli import sweeper as sweeper_cli
from oversight.cli.context import CommandContext
from oversight.config import load_settings
from oversight.sweeper.loop import SweeperOptions, background_sweeper
from tests.sweeper.conftest import POLICIES
from tests.sweeper.support import ask, ledger, request_row

REPO = Path(__file__).resolve().parents[2]
# the command group as the team lead registers it: app.add_typer(sweeper.app, name="sweeper")
COMMAND = ("import typer; from oversight.cli import sweeper; root = typer.Typer(); "
           "root.add_typer(sweeper.app, name='sweeper'); root(prog_name='oversight')")


def cli_env(database_url: str) -> dict[str, str]:
    return {"OVERSIGHT_DATABASE_URL": database_url,
            "OVERSIGHT_POLICY_PATHS": json.dumps([str(POLICIES)]),
            "OVERSIGHT_GRAPHS": json.dumps({"ask": "tests.gateway.graphs:ask_graph"}),
            "OVERSIGHT_LOG_FORMAT": "json"}


async def oversight_sweeper(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OVERSIGHT_")}
    env |= cli_env(database_url)
    return await asyncio.to_thread(
        subprocess.run, [sys.executable, "-c", COMMAND, "sweeper", *args], cwd=REPO, env=env,
        capture_output=True, text=True, timeout=120, check=False)


async def test_run_once_prints_what_it_did(gateway, clock, database_url):
    clock.now = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)  # the CLI runs on real time
    view = await ask(gateway, "deploy.reject")
    waiting = await ask(gateway, "deploy.escalate")
    clock.now = dt.datetime.now(dt.UTC)
    result = await oversight_sweeper(database_url, "run", "--once")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("sweeper: 1 rejected, 0 expired, 1 escalated, 0 repaired")
    assert "1 resumes run; 0 busy; 0 errors" in result.stdout
    assert '"event": "sweeper.pass"' in result.stderr  # structlog, JSON
    assert (await gateway.thread(view.id)).status == "completed"
    assert request_row(gateway.sessions, waiting.pending[0].id).escalation_step == 1


async def test_run_once_as_json_with_a_batch_size(gateway, clock, database_url, monkeypatch,
                                                  capsys):
    clock.now = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    views = [await ask(gateway, "deploy.expire", n=n) for n in range(3)]
    for name, value in cli_env(database_url).items():
        monkeypatch.setenv(name, value)
    # as command_context() does, minus configuring logging for the whole test session
    monkeypatch.setattr(sweeper_cli, "command_context",
                        lambda: CommandContext(settings=load_settings()))
    await asyncio.to_thread(sweeper_cli.run, once=True, interval=None, batch=2, as_json=True)
    counts = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (counts["expired"], counts["rejected"], counts["errors"]) == (3, 0, 0)
    assert all(request_row(gateway.sessions, v.pending[0].id).status == "expired" for v in views)


def test_options_come_from_settings_then_flags():
    class Settings:
        sweeper_interval_seconds = 2.0
        sweeper_batch_size = 100

    options = SweeperOptions.from_settings(Settings(), batch=9, interval=None)
    assert (options.interval, options.batch, options.enabled) == (2.0, 9, True)
    assert SweeperOptions.from_settings(object()) == SweeperOptions()


async def test_the_background_loop_sweeps_until_stopped(gateway, clock):
    view = await ask(gateway, "deploy.expire")
    clock.advance(minutes=10)
    async with background_sweeper(gateway, SweeperOptions(interval=0.05)) as sweeper:
        assert sweeper is not None
        for _ in range(200):
            if request_row(gateway.sessions, view.pending[0].id).status == "expired":
                break
            await asyncio.sleep(0.02)
    assert request_row(gateway.sessions, view.pending[0].id).status == "expired"
    assert len(ledger(gateway.sessions, action="request.expired")) == 1


async def test_a_disabled_background_sweeper_does_nothing(gateway, clock):
    view = await ask(gateway, "deploy.expire")
    clock.advance(minutes=10)
    async with background_sweeper(gateway, SweeperOptions(enabled=False)) as sweeper:
        assert sweeper is None
        await asyncio.sleep(0.1)
    assert request_row(gateway.sessions, view.pending[0].id).status == "pending"
