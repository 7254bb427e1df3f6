"""Separate processes for the gateway tests: ``python -m tests.gateway.workers VERB URL ...``.

Each call builds a fresh gateway from the database alone, as a restarted server would.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from oversight import db
from oversight.approvals.exceptions import DecisionRefused
from oversight.gateway.checkpointer import open_checkpointer
from oversight.gateway.service import Gateway
from oversight.policy import load_policy_set
from tests.gateway.conftest import POLICIES, RILEY, person


async def run(verb: str, url: str, args: list[str]) -> dict[str, Any]:
    from oversight.demo.graphs import sql_agent

    async with open_checkpointer(url) as checkpointer:
        gateway = Gateway(sessions=db.session_factory(db.create_db_engine(url)),
                          checkpointer=checkpointer,
                          evaluate=load_policy_set([POLICIES]).evaluate)
        gateway.register("sql_agent", sql_agent)
        if verb == "start":
            view = await gateway.start("sql_agent", {"request": "delete inactive users",
                                                     "database": "production"}, requester=RILEY)
            request = view.pending[0]
            return {"thread": view.id, "request": request.id, "digest": request.payload_digest}
        if verb == "decide":
            request_id, digest, subject = args
            try:
                result = await gateway.decide(request_id, principal=person(subject, "dba"),
                                              decision="approve", payload_digest=digest)
            except DecisionRefused as refused:
                return {"outcome": "refused", "code": refused.code}
            return {"outcome": "final" if result.became_final else "counted"}
        if verb == "status":
            view = await gateway.thread(args[0])
            return {"status": view.status, "result": view.values.get("result")}
    raise SystemExit(f"unknown verb {verb}")


if __name__ == "__main__":
    verb, url, *rest = sys.argv[1:]
    print(json.dumps(asyncio.run(run(verb, url, rest))), flush=True)
