"""A sealed record's hash, exported line and indexed columns, from its queued canonical fields.

The queue holds each record's fields (``action actor data payload_digest policy subject
time``) as RFC 8785 canonical JSON, written by ``append_record`` after
``check_record_fields``. Sealing adds ``hash``, ``prev``, ``seq`` and ``v``, whose names are
ASCII, so in canonical (sorted) order they fall at fixed places among the fields' members::

    action actor data [hash] payload_digest policy [prev seq] subject time [v]

and the canonical form of the record is the queued text with those members spliced in:
nothing is parsed or encoded again.

Finding the splice points. Inside a canonical JSON string a ``"`` is always written ``\\"``,
so text like ``,"subject":{`` can only be a member name followed by an object. The last such
text is the top-level ``subject``: after it come only the subject's strings and ``time``. The
last ``,"payload_digest":`` before it is the top-level digest: between the two lie only the
digest and ``policy``, strings or null. ``action`` (a dotted verb) and ``time`` (fixed
length, last) are cut by position, and ``actor`` (fixed members, no ``data`` among them) ends
where the first ``,"data":{`` after it begins. Text that does not have this shape is parsed
and sealed by ``oversight_audit.finalize_record`` instead.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from typing import Any, NamedTuple

from oversight_audit import FORMAT_VERSION, HASH_DOMAIN, MalformedRecord, finalize_record

_START = '{"action":"'
_ACTOR_MEMBER = '","actor":{'
_DATA_MEMBER = ',"data":{'
_DIGEST_MEMBER = ',"payload_digest":'
_SUBJECT_MEMBER = ',"subject":{'
_TIME_MEMBER = ',"time":"'
_TIME_TAIL = len(',"time":"2026-11-25T04:00:00.123456Z"}')
_LAST_MEMBER = f',"v":{FORMAT_VERSION}}}'
_HEX64 = re.compile(r"[0-9a-f]{64}")
_MAX_SEQ = 2**53 - 1
_sha256 = hashlib.sha256


class SealedFields(NamedTuple):
    """A sealed record: its hash and line, and the columns ``ledger_record`` indexes."""

    hash: str
    line: str
    time: str
    action: str
    actor: str
    thread_id: str | None
    approval_id: str | None


def seal_queued_fields(fields: str, *, seq: int, prev: str, checked: bool = False) -> SealedFields:
    """Seal queued ``fields`` as record ``seq`` after ``prev``.

    ``fields`` must be the canonical JSON of fields that passed ``check_record_fields``, as
    ``append_record`` queues them. Hash and line are byte for byte ``finalize_record``'s.
    ``checked=True`` skips checking ``seq`` and ``prev``, for a caller that checked the first
    of a run and takes each next ``prev`` from the hash returned here.
    """
    if not checked:
        check_seq_and_prev(seq, prev)
    action_end = fields.find('"', len(_START))
    actor_at = action_end + len(_ACTOR_MEMBER) - 1
    data_at = fields.find(_DATA_MEMBER, actor_at)
    subject_at = fields.rfind(_SUBJECT_MEMBER)
    digest_at = fields.rfind(_DIGEST_MEMBER, 0, subject_at)
    time_at = len(fields) - _TIME_TAIL
    if not (action_end > 0 and fields.startswith(_START)
            and fields.startswith(_ACTOR_MEMBER, action_end)
            and 0 < data_at < digest_at < subject_at < time_at
            and fields.startswith(_TIME_MEMBER, time_at) and fields.endswith('"}')):
        return _seal_parsed(fields, seq=seq, prev=prev)
    body = "".join((fields[:subject_at], ',"prev":"', prev, '","seq":', str(seq),
                    fields[subject_at:-1], _LAST_MEMBER))
    record_hash = _sha256(HASH_DOMAIN + body.encode()).hexdigest()
    line = "".join((body[:digest_at], ',"hash":"', record_hash, '"', body[digest_at:]))
    thread_id, approval_id = _subject_columns(fields[subject_at + len(_SUBJECT_MEMBER) - 1:time_at])
    return SealedFields(record_hash, line, fields[time_at + len(_TIME_MEMBER):-2],
                        fields[len(_START):action_end], _actor_column(fields[actor_at:data_at]),
                        thread_id, approval_id)


def check_seq_and_prev(seq: int, prev: str) -> None:
    """``MalformedRecord`` unless ``seq`` is in 0..2^53−1 and ``prev`` is 64 lower-case hex."""
    if type(seq) is not int or not 0 <= seq <= _MAX_SEQ:
        raise MalformedRecord("/seq", f"expected an integer in 0..2^53-1, found {seq!r}")
    if type(prev) is not str or _HEX64.fullmatch(prev) is None:
        raise MalformedRecord("/prev", "expected 64 lower-case hex digits")


def _seal_parsed(fields: str, *, seq: int, prev: str) -> SealedFields:
    value = json.loads(fields)
    record, line = finalize_record(value, seq=seq, prev=prev, checked=True)
    subject = record["subject"]
    return SealedFields(record["hash"], line.decode(), record["time"], record["action"],
                        _actor_id(record["actor"]), subject.get("thread"),
                        subject.get("approval"))


def _actor_id(actor: dict[str, Any]) -> str:
    """``system:<component>`` or ``issuer|subject``: the ``actor`` column."""
    return str(actor["id"]) if actor["type"] == "system" else f"{actor['iss']}|{actor['sub']}"


@functools.lru_cache(maxsize=4096)
def _actor_column(actor: str) -> str:
    return _actor_id(json.loads(actor))


@functools.lru_cache(maxsize=4096)
def _subject_columns(subject: str) -> tuple[str | None, str | None]:
    value = json.loads(subject)
    return value.get("thread"), value.get("approval")
