"""``/v1/audit``: the ledger, its checkpoint, proofs, receipts and keys (auditors, admins)."""

from __future__ import annotations

import base64
import json
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from sqlalchemy import select

from oversight.api.deps import Auditor, SessionDep, SettingsDep
from oversight.errors import LedgerRequestInvalid, RecordNotFound
from oversight.ledger import export, keys, service
from oversight.ledger.models import LedgerCheckpoint, LedgerRecord
from oversight.ledger.sealing import stored_node_getter
from oversight_audit import consistency_proof, inclusion_proof

router = APIRouter(prefix="/v1/audit", tags=["audit"])
MAX_SEQ = 2**62  # far past any ledger, and within every database's BIGINT


def _b64(values: list[bytes]) -> list[str]:
    return [base64.b64encode(v).decode() for v in values]


@router.get("/records")
def records(
    _: Auditor, session: SessionDep,
    after: Annotated[int, Query(ge=-1, le=MAX_SEQ, description="Records with seq greater than this.")] = -1,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    thread: Annotated[str | None, Query(max_length=100)] = None,
    action: Annotated[str | None, Query(max_length=100)] = None,
) -> dict[str, Any]:
    """Sealed records in ``seq`` order, each exactly as exported (its canonical line)."""
    query = select(LedgerRecord).where(LedgerRecord.seq > after)
    if thread:
        query = query.where(LedgerRecord.thread_id == thread)
    if action:
        query = query.where(LedgerRecord.action == action)
    rows = session.scalars(query.order_by(LedgerRecord.seq).limit(limit)).all()
    return {"records": [json.loads(r.line) for r in rows],
            "next_after": rows[-1].seq if len(rows) == limit else None}


@router.get("/checkpoint")
def checkpoint(_: Auditor, session: SessionDep) -> dict[str, Any]:
    """The newest signed checkpoint (a C2SP signed note)."""
    latest = service.latest_checkpoint(session)
    if latest is None:
        raise RecordNotFound("nothing has been sealed yet")
    return {"tree_size": latest.tree_size, "root": latest.root, "chain_head": latest.chain_head,
            "note": latest.note, "created_at": latest.created_at.isoformat()}


def _tree_size(session: SessionDep, size: int | None) -> int:
    latest = service.latest_checkpoint(session)
    if latest is None:
        raise RecordNotFound("nothing has been sealed yet")
    if size is None:
        return latest.tree_size
    if session.get(LedgerCheckpoint, size) is None:
        raise RecordNotFound(f"no checkpoint of tree size {size}", pointer="/tree_size")
    return size


@router.get("/proof/inclusion")
def inclusion(_: Auditor, session: SessionDep, seq: Annotated[int, Query(ge=0, le=MAX_SEQ)],
              tree_size: Annotated[int | None, Query(ge=1, le=MAX_SEQ)] = None) -> dict[str, Any]:
    """The RFC 9162 inclusion proof of record ``seq`` in the tree of ``tree_size``."""
    size = _tree_size(session, tree_size)
    if seq >= size:
        raise LedgerRequestInvalid(f"record {seq} is not in a tree of size {size}", pointer="/seq")
    return {"seq": seq, "tree_size": size,
            "proof": _b64(inclusion_proof(seq, size, stored_node_getter(session)))}


@router.get("/proof/consistency")
def consistency(_: Auditor, session: SessionDep, first: Annotated[int, Query(ge=1, le=MAX_SEQ)],
                second: Annotated[int | None, Query(ge=1, le=MAX_SEQ)] = None) -> dict[str, Any]:
    """The RFC 9162 consistency proof from tree size ``first`` to ``second``."""
    size = _tree_size(session, second)
    if first > size:
        raise LedgerRequestInvalid(f"tree size {first} is past {size}", pointer="/first")
    return {"first": first, "second": size,
            "proof": _b64(consistency_proof(first, size, stored_node_getter(session)))}


@router.get("/receipts/{seq}")
def receipt(seq: Annotated[int, Path(ge=0, le=MAX_SEQ)], _: Auditor, session: SessionDep,
            settings: SettingsDep) -> Response:
    """A receipt that verifies offline: `python -m oversight_audit receipt FILE`."""
    built = export.build_receipt(session, seq=seq, keys=keys.published_keys(session, settings))
    return Response(built.to_json(), media_type="application/json")


@router.get("/keys")
def verifier_keys(_: Auditor, session: SessionDep, settings: SettingsDep) -> dict[str, Any]:
    """Every public key that has signed checkpoints (verifier key strings)."""
    return {"keys": [str(k) for k in keys.published_keys(session, settings)]}
