"""``oversight policy replay --from-db``: a candidate set over the interrupts the gateway saw."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from oversight.cli.policy import app
from tests.gateway import graphs
from tests.gateway.conftest import DANA, POLICIES, RILEY


async def test_replay_reports_what_a_candidate_set_would_change(gateway, database_url, tmp_path):
    gateway.register("ask", graphs.ask_graph)
    view = await gateway.start("ask", {"action": "sql.execute", "payload": {
        "operation": "DELETE", "query": "DELETE FROM users"}}, requester=RILEY)
    request = view.pending[0]
    await gateway.decide(request.id, principal=DANA, decision="edit",
                         payload_digest=request.payload_digest,
                         edits={"query": "DELETE FROM users WHERE id = 1"})
    candidate = tmp_path / "candidate.yaml"
    candidate.write_text((POLICIES / "gateway.yaml").read_text().replace(
        "  - id: sql-one-dba\n    match: {action: sql.execute}\n",
        "  - id: no-deletes\n    match: {action: sql.execute, payload: "
        "{query: {regex: '^DELETE FROM users$'}}}\n    deny: {reason: No more deletes.}\n"
        "  - id: sql-one-dba\n    match: {action: sql.execute}\n"))
    env = {"OVERSIGHT_DATABASE_URL": database_url, "OVERSIGHT_HOME": str(tmp_path)}
    result = CliRunner().invoke(app, ["replay", str(candidate), "--from-db", "--json"], env=env)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    mine = [c for c in report["changes"] if c.get("id") == request.id
            or request.id in json.dumps(c)]
    assert len(mine) == 1  # replayed on the payload as raised, before the DBA's edit
    assert mine[0]["before"]["rule_id"] == "sql-one-dba"
    assert mine[0]["after"]["rule_id"] == "no-deletes"
    future = CliRunner().invoke(app, ["replay", str(candidate), "--from-db", "--json",
                                      "--since", "2100-01-01T00:00:00Z"], env=env)
    assert json.loads(future.stdout)["changed"] == 0
