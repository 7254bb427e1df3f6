"""Payload files (``payloads/<seq>.json``) against the digests their records commit to.

A payload file holds ``{"key": "<base64>", "payload": ..., "seq": n}``; the record's
``payload_digest`` is the HMAC under that key of the payload's RFC 8785 canonical JSON.
``BundleWriter`` writes the file as its own canonical JSON and a newline, so in the usual
file the payload's canonical bytes are already there, between ``"payload":`` and
``,"seq":``: ``canonical_payload`` finds them and proves them canonical (parsed and
written back, byte for byte), and the digest is computed over them as they stand, with no
parse of the whole document. Any other file (spaced out, keys in another order, anything
unusual) is parsed as JSON and its payload canonicalised (``parse_payload``); both ways
give the same verdict (see ``canonical_payload``).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import os
from json.scanner import make_scanner
from pathlib import Path
from typing import Any, cast

from oversight_audit import bundle as files
from oversight_audit._internal.canonical import canonical_json
from oversight_audit._internal.wire import unb64
from oversight_audit.errors import BundleError, CanonicalizationError, PayloadMismatch
from oversight_audit.records import verify_payload_digest

_READ_SIZE = 1 << 16
#: Payload files checked together (see ``PayloadCheck``); memory stays a few kilobytes.
BATCH = 128
_KEY_OPEN = b'{"key":"'
_KEY_CLOSE = b'","payload":'
_DIGEST_PREFIX = b"hmac-sha256:"
_SCAN = make_scanner(cast(Any, json.JSONDecoder()))  # json.loads's scanner, unwrapped


def read_payload(path: str) -> bytes:
    """A payload file's bytes: open, read to the end, close (no buffering, no stat)."""
    handle = os.open(path, os.O_RDONLY)
    try:
        data = os.read(handle, _READ_SIZE)
        # A short read is not proof of the end: read until the file says so.
        chunk = os.read(handle, _READ_SIZE) if data else b""
        if chunk:
            parts = [data, chunk]
            while chunk := os.read(handle, _READ_SIZE):
                parts.append(chunk)
            data = b"".join(parts)
        return data
    finally:
        os.close(handle)


def parse_payload(data: bytes, seq: int, name: str) -> tuple[bytes, Any]:
    """``(key, payload)`` from a payload file, or ``BundleError``."""
    try:
        document = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise BundleError(name, f"not JSON: {exc}") from None
    if type(document) is not dict or set(document) != {"key", "payload", "seq"}:
        raise BundleError(name, 'expected {"seq": n, "key": "<base64>", "payload": ...}')
    if type(document["seq"]) is not int or document["seq"] != seq:
        raise BundleError(name, f"/seq: expected {seq}")
    key = unb64(document["key"]) if type(document["key"]) is str else None
    if not key:
        raise BundleError(name, "/key: expected a non-empty base64 key")
    return key, document["payload"]


def canonical_payload(data: bytes, seq: int) -> tuple[bytes, bytes] | None:
    """``(key, the payload's canonical JSON)`` from a file written as ``BundleWriter`` does.

    ``None`` for any other file; ``parse_payload`` then decides. The file must be exactly
    ``{"key":"K","payload":P,"seq":<seq>}`` and a newline, with ``K`` non-empty strict base64
    and ``P`` one JSON value that ``canonical_json`` writes back byte for byte. Then the
    file is one JSON object of those three members (JSON's grammar is unambiguous, and K
    holds no quote or backslash), ``parse_payload`` would return the same key and the value
    of ``P``, and the digest ``verify_payload_digest`` computes, over the canonical JSON of
    that value, is the digest over ``P``: the same verdict, from the bytes at hand.
    """
    tail = b',"seq":%d}\n' % seq
    key_end = data.find(_KEY_CLOSE, 8)
    if key_end < 0 or not data.startswith(_KEY_OPEN) or not data.endswith(tail):
        return None
    raw = data[key_end + 12 : len(data) - len(tail)]
    try:  # b64decode as unb64 does it, on bytes: only ASCII base64 gets through
        key = base64.b64decode(data[8:key_end], validate=True)
        text = raw.decode("utf-8")
        value, end = _SCAN(text, 0)
        if not key or end != len(text) or canonical_json(value) != raw:
            return None
    except (binascii.Error, UnicodeDecodeError, StopIteration, ValueError, RecursionError,
            CanonicalizationError):
        return None
    return key, raw


def digest_matches(data: bytes, seq: int, digest: bytes) -> bool:
    """Whether the payload file ``data`` of record ``seq`` has the record's ``digest``."""
    found = canonical_payload(data, seq)
    if found is None:
        key, payload = parse_payload(data, seq, f"{files.PAYLOADS}/{seq}.json")
        return verify_payload_digest(digest.decode(), key, payload)
    key, body = found
    expected = _DIGEST_PREFIX + hmac.digest(key, body, "sha256").hex().encode()
    return hmac.compare_digest(expected, digest)


class PayloadCheck:
    """``payloads/<seq>.json`` against the digests records commit to.

    The folder is listed once into a bitmap (one bit per record of the bundle), so a record
    whose payload was erased costs no system call and a stray file is found without a
    second pass. Files are checked in batches of ``BATCH``, in seq order: between two
    payload files the stream runs through dozens of lines, which pushes the code that reads
    and checks a file out of the processor's caches, and checking files one after another
    keeps it there (about a third less per file here). The stream calls ``flush`` before it
    reports any failure of its own, so the first failure reported is still the earliest.
    """

    def __init__(self, directory: Path, manifest: files.Manifest):
        self.folder = directory / files.PAYLOADS
        self._prefix = f"{self.folder}{os.sep}"  # plain strings: no Path per record
        self.first = manifest.first_seq
        self.verified = 0
        self._pending: list[tuple[int, bytes]] = []
        self.stored = bytearray()
        if self.folder.is_dir():
            self.stored = bytearray((manifest.record_count + 7) // 8)
            with os.scandir(self.folder) as entries:
                for entry in entries:
                    found = files.PAYLOAD_NAME.fullmatch(entry.name)
                    seq = int(found.group(1)) if found else -1
                    if not manifest.first_seq <= seq <= manifest.last_seq:
                        raise BundleError(f"{files.PAYLOADS}/{entry.name}",
                                          "not the payload file of a record in this bundle")
                    offset = seq - self.first
                    self.stored[offset >> 3] |= 1 << (offset & 7)

    def check(self, seq: int, digest: bytes) -> None:
        """Queue the stored payload of ``seq`` (its bit is set in ``stored``) for checking."""
        self._pending.append((seq, digest))
        if len(self._pending) >= BATCH:
            self.flush()

    def flush(self) -> None:
        """Check the queued payloads in seq order; the first that fails raises."""
        pending, self._pending = self._pending, []
        for seq, digest in pending:
            self._verify(seq, digest)

    def _verify(self, seq: int, digest: bytes) -> None:
        offset = seq - self.first
        self.stored[offset >> 3] &= ~(1 << (offset & 7)) & 0xFF
        try:
            data = read_payload(f"{self._prefix}{seq}.json")
        except OSError as exc:
            raise BundleError(f"{files.PAYLOADS}/{seq}.json",
                              f"cannot be read: {exc.strerror}") from None
        if not digest_matches(data, seq, digest):
            raise PayloadMismatch(f"{files.PAYLOADS}/{seq}.json does not match the record's "
                                  "payload_digest", seq=seq)
        self.verified += 1

    def leftover(self) -> None:
        """After the stream: a file left unchecked belongs to a record without a digest."""
        for index, byte in enumerate(self.stored):
            if byte:
                seq = self.first + index * 8 + (byte & -byte).bit_length() - 1
                raise PayloadMismatch(f"payloads/{seq}.json is stored but the record commits "
                                      "to no payload", seq=seq)
