"""``oversight demo --non-interactive``: the reference scenarios scripted on the terminal.

They run through the gateway on the embedded defaults; at the end the ledger is sealed,
exported as a bundle and checked by the offline verifier.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from oversight.approvals.models import ApprovalRequest
from oversight.config import Settings
from oversight.demo.graphs import TRAVEL_RESUME_VALUES, sql_agent, travel
from oversight.demo.story import SCENARIOS, DemoClock, Step, run_scenario
from oversight.demo.users import demo_user
from oversight.gateway.runtime import open_gateway, policy_paths, shipped_policies
from oversight.gateway.service import Gateway
from oversight.ledger import export, keys, service
from oversight.ledger.sealing import Sequencer
from oversight.policy import load_policy_set
from oversight.sweeper.service import Sweeper
from oversight_audit import verify_bundle

Echo = Callable[[str], None]


def _scripted(request: ApprovalRequest, step: Step) -> Step:
    return step


async def _scenarios(settings: Settings, sessions: sessionmaker[Session], echo: Echo) -> None:
    clock = DemoClock()
    policy = load_policy_set([*policy_paths(settings), shipped_policies() / "demo"])
    async with open_gateway(settings, sessions, clock=clock,
                            evaluate=policy.evaluate) as gateway:
        gateway.register("sql_agent", sql_agent)
        gateway.register("travel", travel, resume_values=TRAVEL_RESUME_VALUES,
                         actions={"approval": "travel.book"})
        for number, scenario in enumerate(SCENARIOS, start=1):
            echo(f"\n{number}. {scenario.title}")
            view = await run_scenario(gateway, clock, scenario, _scripted, echo)
            outcome = view.values.get("result") or view.values.get("booking") or view.error
            echo(f"   thread {view.id}: {view.status} — {outcome}")
        await _expiry(gateway, clock, echo)


async def _expiry(gateway: Gateway, clock: DemoClock, echo: Echo) -> None:
    """Nobody answers a booking; the demo rule's 2-minute deadline passes; the sweeper acts."""
    echo(f"\n{len(SCENARIOS) + 1}. Nobody answers a booking: it expires "
         "(policies/demo/short-deadlines.yaml gives it 2 minutes)")
    view = await gateway.start("travel", {"traveller": "tara", "destination": "Porto"},
                               requester=demo_user("riley", signed_in_at=clock()))
    echo(f"   pending: {view.pending[0].action} (rule {view.pending[0].rule_id}), "
         f"deadline {view.pending[0].deadline_at:%H:%M:%S} UTC")
    clock.read_for(3 * 60)
    summary = await Sweeper(gateway, settle=dt.timedelta(0)).run_pass()
    echo(f"   three minutes later the sweeper runs: {summary.expired} expired")
    after = await gateway.thread(view.id)
    echo(f"   thread {view.id}: {after.status} — nothing was booked")


def run_scripted(settings: Settings, sessions: sessionmaker[Session], echo: Echo) -> Path:
    """Run every scenario, seal, export and verify; returns the exported bundle's folder."""
    signer = keys.load_signer(settings)
    echo(f"Oversight demo: database {settings.resolved_database_url}")
    echo(f"checkpoint signing key (development): {signer.verifier_key()}")
    sequencer = Sequencer(sessions, signer=signer, origin=settings.ledger_origin,
                          interval=settings.seal_interval_seconds)
    sequencer.start()
    try:
        asyncio.run(_scenarios(settings, sessions, echo))
    finally:
        sequencer.stop(final_seal=True)
    out = settings.home / "exports" / dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    with sessions() as session:
        size = service.tree_size(session)
        published = keys.published_keys(session, settings)
        result = export.export_bundle(session, out, origin=settings.ledger_origin, keys=published)
    report = verify_bundle(out, keys=[signer.verifier_key()])
    echo(f"\nThe ledger holds {size} records, sealed under signed checkpoints.")
    echo(f"Exported records {result.first_seq}..{result.last_seq} to {out}")
    echo(f"Offline verification: intact ({report.record_count} records checked).")
    echo(f"Verify it yourself:  python -m oversight_audit verify {out}")
    return out
