"""A sweeper in its own process: ``python -m tests.sweeper.workers URL [options]``.

It builds everything from the database alone, as a restarted sweeper would, runs passes until
one finds nothing left to do, and prints its totals as JSON. ``--die-after N`` kills the
process (``os._exit``, no clean-up, like ``kill -9``) at the Nth ledger record it appends:
in the middle of a batch, before that batch's transaction commits.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from collections import Counter
from pathlib import Path
from typing import Any

from oversight import db
from oversight.gateway.checkpointer import open_checkpointer
from oversight.gateway.service import Gateway
from oversight.policy import load_policy_set
from oversight.sweeper import Sweeper, closing
from tests.gateway import graphs
from tests.sweeper.conftest import POLICIES


def die_after(count: int) -> None:
    appended = 0
    record = closing.record

    def counting(*args: Any, **kwargs: Any) -> None:
        nonlocal appended
        appended += 1
        if appended == count:
            os._exit(3)
        record(*args, **kwargs)

    closing.record = counting  # type: ignore[assignment]


async def sweep(url: str, batch: int) -> dict[str, int]:
    totals: Counter[str] = Counter()
    async with open_checkpointer(url) as checkpointer:
        gateway = Gateway(sessions=db.session_factory(db.create_db_engine(url)),
                          checkpointer=checkpointer,
                          evaluate=load_policy_set([POLICIES]).evaluate)
        gateway.register("ask", graphs.ask_graph)
        sweeper = Sweeper(gateway, batch=batch, run_resumes=False)
        while True:
            summary = await sweeper.run_pass(scan=False)
            totals.update({"expired": summary.expired, "busy": summary.busy,
                           "errors": summary.errors, "passes": 1})
            if summary.expired == 0 and summary.busy == 0:
                return dict(totals)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--die-after", type=int)
    parser.add_argument("--together", type=Path, help="a folder where the sweepers started "
                        "together check in, to begin at once when all are ready")
    parser.add_argument("--parties", type=int, default=2)
    options = parser.parse_args()
    if options.die_after:
        die_after(options.die_after)
    if options.together:
        (options.together / str(os.getpid())).touch()
        deadline = time.monotonic() + 120
        while len(list(options.together.iterdir())) < options.parties and \
                time.monotonic() < deadline:
            time.sleep(0.01)
    print(json.dumps(asyncio.run(sweep(options.url, options.batch))), flush=True)
