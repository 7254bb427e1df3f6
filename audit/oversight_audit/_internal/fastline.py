"""The verifier's hot path: check an exported line and find its hash input, at speed.

``records.parse_record_line`` decodes the whole line, checks every member and re-encodes
it, which costs several times more than hashing it. Here the line is cut into its members
with byte searches for the literal text between them (``},"hash":"``, ``,"prev":"``,
``,"subject":{`` …), in canonical member order. Fixed-shape members (hash, payload digest,
prev, seq, time, v) are checked as bytes and are canonical by construction. The rest is
checked by the reference code once per distinct byte string and remembered: the *head*
(``{"action":…,"actor":…,"data":…``, everything before ``hash``), the policy member and the
subject. Ledgers repeat the same heads, policies and subjects. The verifier knows which seq
is due, so ``fast_at`` compares the seq member with the text it expects instead of parsing
it, and compares the policy member and the minute of ``time`` in place with the last line's
(ledgers write long runs under one policy, minute after minute) before searching for them.

Why accepting the pieces is accepting the line: each free-form piece is accepted only if it
is, on its own, one complete canonical JSON value of the right type, and the text between
the pieces is compared literally, so the pieces tile the line. A line made of such pieces
is one JSON text, and JSON's grammar is unambiguous, so the pieces are exactly the line's
members, wherever the searches happened to cut (a search fooled by, say, a ``"hash"`` key
inside ``data`` only makes a piece fail its check). The fast path only ever *accepts*;
anything else goes to the reference parser, which decides and names the problem. ``hash``
sits between ``data`` and ``payload_digest`` in canonical order, so the hash input is the
line with that member's bytes cut out.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable
from json.scanner import make_scanner
from typing import Any, cast

from oversight_audit._internal import schema
from oversight_audit._internal.canonical import (
    MAX_SAFE_INTEGER,
    canonical_json,
    encode_fast,
)
from oversight_audit.errors import FormatError
from oversight_audit.records import HASH_DOMAIN, parse_record_line

_MINUTE_SHAPE = b"9999-99-99T99:99"
_TIME_TAIL_SHAPE = b':99.999999Z","v":9}'  # digits read as 9
_TO_NINES = bytes.maketrans(b"0123456789", b"9999999999")
_HEX = b"0123456789abcdef"
_ACTION = re.compile(rb"[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)+")
_CACHE_LIMIT = 8192


def _remember(known: set[bytes], value: bytes) -> None:
    """Add to a memo, forgetting everything when it is full (memory stays bounded)."""
    if len(known) >= _CACHE_LIMIT:
        known.clear()
    known.add(value)


def _no_float(text: str) -> Any:
    raise ValueError(text)


_DECODER = json.JSONDecoder(parse_float=_no_float, parse_constant=_no_float)
_SCAN = make_scanner(cast(Any, _DECODER))  # (text, index) -> (value, end), no wrapper


def _actor(value: Any) -> bool:
    schema.check_actor(value)
    return True


def _data(value: Any) -> bool:
    if type(value) is not dict:
        return False
    schema.check_data(value)
    return True


def _subject(value: Any) -> bool:
    return type(value) is dict and all(
        item is None or type(item) is str for item in value.values())


def _plain_subject(segment: bytes) -> bool | None:
    """Decide a subject quickly when it is ASCII without escapes (``None``: cannot tell).

    With no backslash every string is written literally, so the canonical form's length
    follows from the decoded keys and values; a segment of that length has no white space
    and no duplicate key (a duplicate's bytes would be missing from the sum). Sorted ASCII
    keys are in RFC 8785 (UTF-16) order.
    """
    if not segment.isascii() or b"\\" in segment:
        return None
    try:
        value, end = _SCAN(segment.decode("ascii"), 0)
    except (StopIteration, ValueError, RecursionError):
        return False
    if end != len(segment) or type(value) is not dict:
        return False
    length = len(value) + 1 if value else 2  # braces and commas
    for key, item in value.items():
        if item is None:
            length += len(key) + 7  # "key":null
        elif type(item) is str:
            length += len(key) + len(item) + 5  # "key":"item"
        else:
            return False
    keys = list(value)
    return length == len(segment) and keys == sorted(keys)


def _policy(value: Any) -> bool:
    return type(value) is str


class _Memo:
    """Byte strings already proven to be canonical, well-typed JSON for one member."""

    __slots__ = ("_check", "_quick", "known")

    def __init__(
        self, check: Callable[[Any], bool], quick: Callable[[bytes], bool | None] | None = None
    ) -> None:
        self.known: set[bytes] = set()
        self._check = check
        self._quick = quick

    def learn(self, segment: bytes) -> bool:
        """Check ``segment`` with the reference code; remember it if it passes."""
        verdict = self._quick(segment) if self._quick is not None else None
        if verdict is None:
            verdict = self._decide(segment)
        if verdict:
            _remember(self.known, segment)
        return verdict

    def _decide(self, segment: bytes) -> bool:
        try:
            text = segment.decode("utf-8")
            value, end = _SCAN(text, 0)
            if end != len(text) or not self._check(value):
                return False
            # ASCII text holds no key outside the BMP, so the fast encoder is RFC 8785 here;
            # the checks above already refused floats and out-of-range integers.
            if text.isascii():
                if encode_fast(value) != text:
                    return False
            elif canonical_json(value) != segment:
                return False
        except (StopIteration, ValueError, RecursionError, FormatError):
            return False
        return True


def _minute_ok(text: bytes) -> bool:
    """``YYYY-MM-DDTHH:MM`` names a real minute (records write no leap seconds)."""
    try:
        dt.datetime.fromisoformat(text.decode("ascii"))
    except ValueError:
        return False
    return True


#: (seq, prev hex, hash hex, payload digest or None, recomputed hash hex, Merkle leaf hash);
#: hex as ASCII bytes.
LineFacts = tuple[int, bytes, bytes, bytes | None, bytes, bytes]
_States = tuple["hashlib._Hash", "hashlib._Hash"]
_sha256 = hashlib.sha256


class LineChecker:
    """Checks lines one by one; memory is bounded by its caches, whatever the line count."""

    def __init__(self) -> None:
        self._actor = _Memo(_actor)
        self._data = _Memo(_data)
        self._subject = _Memo(_subject, _plain_subject)
        self._policy = _Memo(_policy)
        self._heads: dict[bytes, _States] = {}
        self._policies: set[bytes] = set()
        self._minutes: set[bytes] = set()
        # What the line before held, compared in place; each starts as a valid member.
        self._last_policy = b',"policy":null,"prev":"'
        self._last_minute = b',"time":"2000-01-01T00:00'

    def check(self, line: bytes) -> LineFacts:
        """The facts the verifier needs from one line (no newline); ``MalformedRecord`` if bad.

        For speed the claimed ``hash`` and ``prev`` are *not* checked to be hex here: the
        caller compares them with hexadecimal digests (the recomputed hash, the previous
        record's hash), which proves them; on any mismatch it must call ``reference`` to tell
        a malformed line (``MalformedRecord``) from a failed check.
        """
        facts = self.fast(line)
        return facts if facts is not None else self.reference(line)

    def fast(self, line: bytes) -> LineFacts | None:
        """The facts, or ``None`` for any line this path does not recognise.

        Finds the seq the line claims and hands over to ``fast_at``, which checks every
        member (a seq found in the wrong place only makes that check fail).
        """
        at = line.rfind(b'","seq":') + 8
        stop = line.find(b',"subject":{', at)
        digits = line[at:stop]
        if at < 8 or stop < 0 or len(digits) > 16 or not digits.isdigit():
            return None
        return self.fast_at(line, int(digits))

    def fast_at(self, line: bytes, seq: int) -> LineFacts | None:
        """The facts of a line that should hold record ``seq``, or ``None``.

        ``None`` for any line this path does not recognise, including one holding another
        seq: the verifier knows which seq is due, so comparing the member's text with the
        one it expects replaces parsing it. Every slice is compared with a literal or
        checked by a memo; positions only grow from the first search on, and every index
        used is bounds-checked or compared. A line of the same policy and minute as the
        line before needs no search past ``hash`` (both are compared in place).
        """
        hash_at = line.find(b'},"hash":"') + 1
        if not hash_at or not 0 <= seq <= MAX_SAFE_INTEGER:
            return None
        head = line[:hash_at]
        states = self._heads.get(head) or self._learn_head(head)
        if states is None:
            return None
        digest_at = hash_at + 74  # ,"hash":"<64 hex>"
        if line.startswith(b'","payload_digest":null', digest_at - 1):
            digest, policy_at = None, digest_at + 22
        elif (line.startswith(b'","payload_digest":"hmac-sha256:', digest_at - 1)
              and line[digest_at + 95 : digest_at + 96] == b'"'
              and not line[digest_at + 31 : digest_at + 95].translate(None, _HEX)):
            digest, policy_at = line[digest_at + 19 : digest_at + 95], digest_at + 96
        else:
            return None
        policy = self._last_policy  # ,"policy":<value>,"prev":"
        if not line.startswith(policy, policy_at):
            policy = self._learn_policy(line, policy_at)
            if not policy:
                return None
        prev_at = policy_at + len(policy)  # the 64 hex digits of prev
        member = b'","seq":%d,"subject":' % seq
        subject_at = prev_at + 64 + len(member)
        end = len(line) - 44  # ,"time":"<27>","v":1}
        subject = line[subject_at:end]
        if (
            subject_at + 2 <= end and line.startswith(member, prev_at + 64)
            and (subject in self._subject.known or self._subject.learn(subject))
            and (line.startswith(self._last_minute, end) or self._learn_minute(line, end))
            and line[-19:].translate(_TO_NINES) == _TIME_TAIL_SHAPE
            and line[-18] <= 0x35 and line[-2] == 0x31  # seconds 00..59; "v":1
        ):
            record_hash, leaf = states[0].copy(), states[1].copy()  # head already absorbed
            record_hash.update(line[digest_at:])
            leaf.update(line[hash_at:])
            return (seq, line[prev_at : prev_at + 64], line[hash_at + 9 : digest_at - 1],
                    digest, record_hash.hexdigest().encode(), leaf.digest())
        return None

    def _learn_head(self, head: bytes) -> _States | None:
        """``{"action":"<verb>","actor":<actor>,"data":<data>``, checked piece by piece.

        Returns SHA-256 states that have absorbed the record-hash domain and the head, and
        the leaf prefix and the head: every line with this head starts its hashes there.
        """
        action_end = head.find(b'"', 11)
        actor_end = head.find(b'},"data":{', action_end)
        if (not head.startswith(b'{"action":"') or not 11 < action_end < actor_end
                or head[action_end : action_end + 11] != b'","actor":{'):
            return None
        action = head[11:action_end]
        actor = head[action_end + 10 : actor_end + 1]
        data = head[actor_end + 9 :]
        if not (_ACTION.fullmatch(action)
                and (actor in self._actor.known or self._actor.learn(actor))
                and (data in self._data.known or self._data.learn(data))):
            return None
        if len(self._heads) >= _CACHE_LIMIT // 4:
            self._heads.clear()
        states = self._heads[head] = (_sha256(HASH_DOMAIN + head), _sha256(b"\x00" + head))
        return states

    def _learn_policy(self, line: bytes, at: int) -> bytes:
        """``,"policy":null`` or ``,"policy":<canonical JSON string>`` at ``at``, then
        ``,"prev":"``: those bytes, remembered for the next line (empty if not so)."""
        prev_at = line.find(b',"prev":"', at)
        member = line[at:prev_at]
        if prev_at < 0 or not (member in self._policies or member == b',"policy":null' or (
                member.startswith(b',"policy":') and self._policy.learn(member[10:]))):
            return b""
        _remember(self._policies, member)
        self._last_policy = member + b',"prev":"'
        return self._last_policy

    def _learn_minute(self, line: bytes, end: int) -> bool:
        """``,"time":"YYYY-MM-DDTHH:MM`` at ``end``, a real minute; remembered for the next
        line (the rest of ``time`` has a fixed shape, checked by the caller)."""
        if not line.startswith(b',"time":"', end):
            return False
        minute = line[end + 9 : end + 25]
        if minute not in self._minutes:
            if minute.translate(_TO_NINES) != _MINUTE_SHAPE or not _minute_ok(minute):
                return False
            _remember(self._minutes, minute)
        self._last_minute = line[end : end + 25]
        return True

    @staticmethod
    def reference(line: bytes) -> LineFacts:
        """The same facts from the reference parser (slow; every member checked)."""
        record, computed = parse_record_line(line)
        digest = record["payload_digest"]
        return (record["seq"], record["prev"].encode(), record["hash"].encode(),
                None if digest is None else digest.encode(), computed.encode(),
                _sha256(b"\x00" + line).digest())
