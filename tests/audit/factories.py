"""Deterministic ledgers for the verifier's tests and golden files: records, tree, checkpoints.

Everything is derived from fixed seeds, so the same call gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from oversight_audit import (
    GENESIS_PREV,
    BundleWriter,
    Checkpoint,
    CompactRange,
    Receipt,
    SignerKey,
    consistency_proof,
    finalize_record,
    inclusion_proof,
    leaf_hash,
    payload_digest,
    sign_checkpoint,
)

ORIGIN = "oversight.example/ledger"
EXPORTED_AT = "2026-11-25T05:00:00.000000Z"
_START = dt.datetime(2026, 11, 25, 4, 0, 0, tzinfo=dt.UTC)
_POLICY = "sha256:" + hashlib.sha256(b"policies v1").hexdigest()
_ALICE = {"type": "user", "iss": "https://login.example.com/realms/acme", "sub": "alice",
          "name": "Alice Approver", "roles": ["approver", "finance"], "acr": "urn:acme:mfa",
          "amr": ["otp", "pwd"], "auth_time": 1795665600}
_BOB = {"type": "user", "iss": "https://login.example.com/realms/acme", "sub": "bob",
        "name": None, "roles": ["approver"], "acr": None, "amr": ["pwd"], "auth_time": None}


def signer(seed: int = 1, name: str = ORIGIN) -> SignerKey:
    """A deterministic Ed25519 signer (32 bytes of ``seed``)."""
    return SignerKey(name, Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32))


def payload_key(seq: int) -> bytes:
    """A deterministic 32-byte payload key for record ``seq``."""
    return hashlib.sha256(b"payload key %d" % seq).digest()


def _system(component: str) -> dict[str, Any]:
    return {"type": "system", "id": f"system:{component}"}


def record_fields(seq: int) -> tuple[dict[str, Any], Any]:
    """The fields of record ``seq`` of the test ledger, and its payload (or None)."""
    flow, step = divmod(seq, 7)
    subject = {"graph": "payments", "thread": f"thread-{flow}", "interrupt": f"int-{flow}",
               "approval": f"appr-{flow}" if step >= 3 else None}
    payload: Any = None
    actor, action, data = _system("gateway"), "run.started", {}
    if step == 1:
        action, payload = "interrupt.raised", {"tool": "transfer", "amount": 1000 + flow,
                                               "to": f"ACME-{flow}", "note": "Zahlung für Ümit"}
    elif step == 2:
        actor, action = _system("policy"), "policy.evaluated"
        data = {"outcome": "require", "rule": "payments.large-transfer", "quorum": 1}
    elif step == 3:
        actor, action, data = _system("approvals"), "approval.requested", {"deadline_s": 3600}
    elif step == 4:
        actor, action = (_ALICE if flow % 2 == 0 else _BOB), "approval.viewed"
    elif step == 5:
        actor, action = (_ALICE if flow % 2 == 0 else _BOB), "decision.recorded"
        data = {"outcome": "approved", "edited": False}
        payload = {"decision": "approve", "comment": f"ok {flow}"}
    elif step == 6:
        actor, action, data = _system("runner"), "resume.applied", {"attempt": 1}
    moment = _START + dt.timedelta(seconds=seq, microseconds=seq * 7)
    fields = {
        "time": moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "actor": actor,
        "action": action,
        "subject": subject,
        "payload_digest": None if payload is None else payload_digest(payload_key(seq), payload),
        "policy": _POLICY,
        "data": data,
    }
    return fields, payload


@dataclass
class Ledger:
    """A sealed ledger held in memory: lines, tree nodes, checkpoints, payloads."""

    signers: Sequence[SignerKey]
    lines: list[bytes] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)
    nodes: dict[tuple[int, int], bytes] = field(default_factory=dict)
    checkpoints: dict[int, str] = field(default_factory=dict)
    payloads: dict[int, tuple[bytes, Any]] = field(default_factory=dict)
    tree: CompactRange = field(default_factory=CompactRange)

    def get_node(self, level: int, index: int) -> bytes:
        """Stored perfect subtree ``(level, index)``."""
        return self.nodes[(level, index)]

    def append(self, fields: dict[str, Any], payload: Any = None) -> None:
        """Seal one record after the current head."""
        seq = len(self.lines)
        prev = self.records[-1]["hash"] if self.records else GENESIS_PREV
        record, line = finalize_record(fields, seq=seq, prev=prev)
        self.records.append(record)
        self.lines.append(line)
        for level, index, value in self.tree.append(leaf_hash(line)):
            self.nodes[(level, index)] = value
        if payload is not None:
            self.payloads[seq] = (payload_key(seq), payload)

    def checkpoint(self) -> str:
        """Sign a checkpoint for the current size."""
        size = self.tree.size
        head = self.records[-1]["hash"] if self.records else None
        note = sign_checkpoint(Checkpoint(ORIGIN, size, self.tree.root(), head), self.signers)
        self.checkpoints[size] = note
        return note

    def write_bundle(
        self,
        path: Path,
        *,
        first_seq: int = 0,
        last_seq: int | None = None,
        checkpoint_size: int | None = None,
        erased: Sequence[int] = (),
    ) -> Path:
        """Export records ``first_seq..last_seq`` as a bundle in ``path``."""
        last = len(self.lines) - 1 if last_seq is None else last_seq
        size = max(self.checkpoints) if checkpoint_size is None else checkpoint_size
        writer = BundleWriter(path)
        for seq in range(first_seq, last + 1):
            writer.write_record(self.lines[seq])
        for seq in range(first_seq, last + 1):
            if seq in self.payloads and seq not in erased:
                writer.write_payload(seq, *self.payloads[seq])
        for cp_size in sorted(self.checkpoints):
            if first_seq < cp_size <= last + 1 and cp_size != size:
                writer.write_checkpoint(self.checkpoints[cp_size])
        writer.close(
            origin=ORIGIN, first_seq=first_seq, last_seq=last,
            prefix=CompactRange.from_nodes(first_seq, self.get_node).nodes(),
            checkpoint=self.checkpoints[size], checkpoint_size=size,
            tail_proof=consistency_proof(last + 1, size, self.get_node),
            keys=[s.verifier_key() for s in self.signers], exported_at=EXPORTED_AT,
        )
        return path

    def receipt(self, seq: int, size: int | None = None) -> Receipt:
        """A receipt for ``seq`` against the checkpoint of ``size`` (default: newest)."""
        size = max(self.checkpoints) if size is None else size
        return Receipt(
            record=self.lines[seq].decode(), leaf_index=seq, tree_size=size,
            inclusion_proof=inclusion_proof(seq, size, self.get_node),
            checkpoint=self.checkpoints[size],
            keys=[str(s.verifier_key()) for s in self.signers],
        )


def build_ledger(
    count: int,
    *,
    checkpoint_every: int = 5,
    signers: Sequence[SignerKey] | None = None,
    extra_checkpoints: Sequence[int] = (),
) -> Ledger:
    """``count`` records with a checkpoint every ``checkpoint_every`` and at the end."""
    ledger = Ledger(signers=list(signers) if signers else [signer()])
    for seq in range(count):
        ledger.append(*record_fields(seq))
        size = seq + 1
        if size % checkpoint_every == 0 or size == count or size in extra_checkpoints:
            ledger.checkpoint()
    return ledger
