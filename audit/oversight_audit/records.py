"""Ledger records: the member set, the exported line, the record hash, payload digests.

A record is a JSON object with exactly the members ``v seq time actor action subject
payload_digest policy data prev hash``. Its exported line is its RFC 8785 canonical JSON;
its ``hash`` is ``SHA-256(HASH_DOMAIN ‖ canonical JSON of the record without "hash")``; its
Merkle leaf is ``leaf_hash(line)``. Numbers in records are integers within ±(2^53−1): a
float is refused outright, because ``1.0`` would canonicalise to ``1`` and read back as an
integer, so the record a verifier sees would not be the one that was written. Payloads
(outside the record, committed to by ``payload_digest``) may hold any RFC 8785 value.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from oversight_audit._internal import schema
from oversight_audit._internal.canonical import canonical_json
from oversight_audit.errors import CanonicalizationError, ChainError, MalformedRecord

__all__ = [
    "FORMAT_VERSION",
    "GENESIS_PREV",
    "HASH_DOMAIN",
    "Record",
    "canonical_json",
    "compute_record_hash",
    "finalize_record",
    "new_payload_key",
    "parse_record_line",
    "payload_digest",
    "verify_payload_digest",
]

FORMAT_VERSION = schema.FORMAT_VERSION
HASH_DOMAIN = b"oversight/ledger/record/v1\n"
GENESIS_PREV = "0" * 64
#: A line longer than this is refused before parsing (records are small by design).
MAX_LINE_BYTES = 1 << 20
_DIGEST_PREFIX = "hmac-sha256:"
_HEAD_MEMBERS = ("action", "actor", "data")
_TAIL_MEMBERS = ("payload_digest", "policy", "prev", "seq", "subject", "time", "v")


def _reject_float(text: str) -> Any:
    raise MalformedRecord("", f"number {text[:40]} has a fraction or exponent "
                              "(records hold integers only)")


def _reject_constant(text: str) -> Any:
    raise MalformedRecord("", f"{text} is not JSON")


_DECODER = json.JSONDecoder(parse_float=_reject_float, parse_constant=_reject_constant)


def _body_hash(body: bytes) -> str:
    return hashlib.sha256(HASH_DOMAIN + body).hexdigest()


def compute_record_hash(record: Mapping[str, Any]) -> str:
    """Hex SHA-256 of ``HASH_DOMAIN`` and the canonical JSON of ``record`` without ``hash``."""
    body = {name: value for name, value in record.items() if name != "hash"}
    return _body_hash(canonical_json(body))


def _halves(record: Mapping[str, Any]) -> tuple[bytes, bytes]:
    """The canonical JSON of the members before ``hash`` and of those after it.

    In canonical (sorted) order ``hash`` falls between ``data`` and ``payload_digest``, so
    the record without ``hash`` is ``head[:-1] + b"," + tail[1:]`` and the line is the same
    with the ``hash`` member spliced in: one encoding serves both.
    """
    try:
        head = canonical_json({name: record[name] for name in _HEAD_MEMBERS})
        tail = canonical_json({name: record[name] for name in _TAIL_MEMBERS})
    except CanonicalizationError as exc:
        raise MalformedRecord("", str(exc)) from exc
    return head, tail


def _splice(head: bytes, tail: bytes, record_hash: str) -> bytes:
    return head[:-1] + b',"hash":"' + record_hash.encode() + b'",' + tail[1:]


def check_record_fields(fields: Mapping[str, Any]) -> None:
    """Check ``fields`` as ``finalize_record`` would; ``MalformedRecord`` names the member."""
    schema.check_fields(fields)


def finalize_record(
    fields: Mapping[str, Any], *, seq: int, prev: str, checked: bool = False
) -> tuple[dict[str, Any], bytes]:
    """Seal ``fields`` as record ``seq`` after ``prev``: return the record and its line.

    ``fields`` holds exactly ``time actor action subject payload_digest policy data``; each
    is checked and a ``MalformedRecord`` names the first offending member as a JSON pointer
    (``checked=True`` skips that, for fields already passed to ``check_record_fields``, as a
    ledger does when they are appended). The line is the canonical JSON of the whole record,
    without a trailing newline.
    """
    if not checked:
        schema.check_fields(fields)
    schema.check_integer(seq, "/seq")
    schema.check_hex64(prev, "/prev")
    record: dict[str, Any] = {name: fields[name] for name in schema.FIELD_MEMBERS}
    record.update(v=FORMAT_VERSION, seq=seq, prev=prev)
    head, tail = _halves(record)
    record["hash"] = _body_hash(head[:-1] + b"," + tail[1:])
    return record, _splice(head, tail, record["hash"])


def parse_record_line(line: bytes) -> tuple[dict[str, Any], str]:
    """Parse one exported line (no newline): return the record and its recomputed hash.

    Raises ``MalformedRecord`` for anything but a well-formed version-1 record in its own
    canonical form. The hash is *recomputed*, not compared: that is a verification step.
    """
    if len(line) > MAX_LINE_BYTES:
        raise MalformedRecord("", f"line longer than {MAX_LINE_BYTES} bytes")
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedRecord("", f"not UTF-8 (byte {exc.start})") from None
    try:
        value, end = _DECODER.raw_decode(text)
    except MalformedRecord:
        raise
    except json.JSONDecodeError as exc:
        raise MalformedRecord("", f"not JSON: {exc.msg} at column {exc.colno}") from None
    except (ValueError, RecursionError) as exc:  # over-long integers, absurd nesting
        raise MalformedRecord("", f"not usable JSON: {exc}") from None
    if end != len(text):
        raise MalformedRecord("", f"unexpected text after the JSON object at column {end + 1}")
    schema.check_record(value)
    head, tail = _halves(value)
    canonical = _splice(head, tail, value["hash"])
    if canonical != line:
        at = _first_difference(line, canonical)
        raise MalformedRecord("", "the line is not the record's RFC 8785 canonical form "
                                  f"(first difference at byte {at})")
    return value, _body_hash(head[:-1] + b"," + tail[1:])


def _first_difference(left: bytes, right: bytes) -> int:
    for index, (a, b) in enumerate(zip(left, right, strict=False)):
        if a != b:
            return index
    return min(len(left), len(right))


@dataclass(frozen=True, slots=True)
class Record:
    """One sealed ledger record, as read from its exported line."""

    v: int
    seq: int
    time: str
    actor: Mapping[str, Any]
    action: str
    subject: Mapping[str, str | None]
    payload_digest: str | None
    policy: str | None
    data: Mapping[str, Any]
    prev: str
    hash: str
    line: bytes = field(repr=False)
    computed_hash: str = field(repr=False, compare=False)

    @classmethod
    def from_line(cls, line: bytes | str) -> Record:
        """Parse an exported line (a trailing ``\\n`` is allowed); ``MalformedRecord`` if bad."""
        raw = line.encode("utf-8", "surrogatepass") if isinstance(line, str) else bytes(line)
        if raw.endswith(b"\n"):
            raw = raw[:-1]
        value, computed = parse_record_line(raw)
        return cls(line=raw, computed_hash=computed, **value)

    def to_dict(self) -> dict[str, Any]:
        """The record as a JSON object (the members of the line)."""
        return {name: getattr(self, name) for name in schema.RECORD_MEMBERS}

    def check_hash(self) -> None:
        """Raise ``ChainError`` unless ``hash`` is the hash recomputed from the other members."""
        if not hmac.compare_digest(self.hash, self.computed_hash):
            raise ChainError(f"recomputed hash {self.computed_hash} differs from the "
                             f"record's hash {self.hash}", seq=self.seq, check="hash")


def new_payload_key() -> bytes:
    """A fresh random 32-byte key for one payload's keyed digest."""
    return secrets.token_bytes(32)


def payload_digest(key: bytes, payload: Any) -> str:
    """``hmac-sha256:<hex>``: HMAC-SHA-256 under ``key`` of the payload's canonical JSON.

    Raises ``CanonicalizationError`` for a payload RFC 8785 cannot encode.
    """
    return canonical_payload_digest(key, canonical_json(payload))


def canonical_payload_digest(key: bytes, canonical: bytes) -> str:
    """``payload_digest`` of a payload given as its canonical JSON bytes already (a writer
    that stores those bytes encodes the payload once)."""
    if not isinstance(key, bytes | bytearray) or not key:
        raise ValueError("the payload key must be non-empty bytes")
    mac = hmac.new(bytes(key), canonical, hashlib.sha256)
    return _DIGEST_PREFIX + mac.hexdigest()


def verify_payload_digest(digest: str, key: bytes, payload: Any) -> bool:
    """Whether ``payload`` under ``key`` has ``digest`` (constant-time comparison).

    A payload that cannot be canonicalised, or an empty key, matches no digest.
    """
    try:
        expected = payload_digest(key, payload)
    except (CanonicalizationError, ValueError):
        return False
    return hmac.compare_digest(expected.encode(), str(digest).encode("utf-8", "replace"))
