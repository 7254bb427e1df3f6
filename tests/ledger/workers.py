"""Processes for the multi-process ledger tests: ``python -m tests.ledger.workers VERB ...``."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from oversight import db
from oversight.errors import LedgerBusy
from oversight.ledger import service
from oversight.ledger.actors import SystemActor
from oversight.ledger.sealing import seal_all, seal_pending_records
from tests.ledger.conftest import ORIGIN, make_signer


def append(url: str, worker: str, count: int, per_tx: int) -> None:
    """Append ``count`` records, ``per_tx`` to a transaction."""
    factory = db.session_factory(db.create_db_engine(url))
    actor = SystemActor(f"writer{worker}")
    done = 0
    while done < count:
        with factory() as session, session.begin():
            for _ in range(min(per_tx, count - done)):
                service.append_record(session, action="test.appended", actor=actor,
                                      data={"writer": worker, "n": done})
                done += 1


def sequencer(url: str, stop_file: str) -> None:
    """Seal in a loop until ``stop_file`` exists, then seal what is left."""
    factory = db.session_factory(db.create_db_engine(url))
    signer = make_signer(7)
    while True:
        stopping = Path(stop_file).exists()
        try:
            seal_all(factory, signer=signer, origin=ORIGIN, batch_size=50)
        except LedgerBusy:
            time.sleep(0.01)
            continue
        if stopping:
            return
        time.sleep(0.01)


def seal_and_hang(url: str) -> None:
    """Seal one batch inside a transaction, say so, and wait to be killed before committing."""
    factory = db.session_factory(db.create_db_engine(url))
    with factory() as session, session.begin():
        result = seal_pending_records(session, signer=make_signer(7), origin=ORIGIN)
        print(f"sealed {result.sealed}", flush=True)
        time.sleep(600)


def try_seal(url: str) -> None:
    """Try to seal once; print ``busy`` or how many records were sealed."""
    factory = db.session_factory(db.create_db_engine(url))
    try:
        with factory() as session, session.begin():
            result = seal_pending_records(session, signer=make_signer(7), origin=ORIGIN)
    except LedgerBusy:
        print("busy", flush=True)
        return
    print(f"sealed {result.sealed}", flush=True)


if __name__ == "__main__":
    verb, *args = sys.argv[1:]
    if verb == "append":
        append(args[0], args[1], int(args[2]), int(args[3]))
    elif verb == "sequencer":
        sequencer(args[0], args[1])
    elif verb == "seal-and-hang":
        seal_and_hang(args[0])
    elif verb == "try-seal":
        try_seal(args[0])
    else:
        raise SystemExit(f"unknown verb {verb}")
