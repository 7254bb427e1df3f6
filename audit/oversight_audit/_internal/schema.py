"""The record schema, checked member by member with a JSON pointer in every error.

This is the reference check: precise, not fast. The bundle verifier's fast path
(``_internal.fastline``) only ever *accepts* lines that this module accepts too, and hands
everything else here for the error message.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from oversight_audit._internal.canonical import MAX_SAFE_INTEGER
from oversight_audit.errors import MalformedRecord

FORMAT_VERSION = 1

#: The members a caller supplies to ``finalize_record``.
FIELD_MEMBERS = ("time", "actor", "action", "subject", "payload_digest", "policy", "data")
#: Every member of a sealed record, in canonical (sorted) order.
RECORD_MEMBERS = (
    "action", "actor", "data", "hash", "payload_digest", "policy", "prev", "seq", "subject",
    "time", "v",
)
USER_ACTOR_MEMBERS = ("acr", "amr", "auth_time", "iss", "name", "roles", "sub", "type")
SYSTEM_ACTOR_MEMBERS = ("id", "type")

ACTION_RE = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+")
SYSTEM_ID_RE = re.compile(r"system:[a-z0-9][a-z0-9_.-]*")
HEX64_RE = re.compile(r"[0-9a-f]{64}")
DIGEST_RE = re.compile(r"hmac-sha256:[0-9a-f]{64}")
TIME_RE = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})\.[0-9]{6}Z")
_MAX_DATA_DEPTH = 16


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number with a fraction or exponent"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return f"a Python {type(value).__name__}"


def pointer_token(key: str | int) -> str:
    """One reference token of a JSON pointer (RFC 6901 escaping)."""
    return str(key).replace("~", "~0").replace("/", "~1")


def _expected(pointer: str, what: str, value: Any) -> MalformedRecord:
    return MalformedRecord(pointer, f"expected {what}, found {_json_type(value)}")


def _string(value: Any, pointer: str, *, nullable: bool = False, nonempty: bool = False) -> None:
    if value is None and nullable:
        return
    if type(value) is not str:
        raise _expected(pointer, "a string or null" if nullable else "a string", value)
    if nonempty and not value:
        raise MalformedRecord(pointer, "must not be empty")
    _unicode(value, pointer)


def _unicode(text: str, pointer: str) -> None:
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise MalformedRecord(pointer, "holds a lone surrogate (not valid Unicode)") from None


def check_integer(value: Any, pointer: str, *, nullable: bool = False) -> None:
    """An integer in 0..2^53−1 (or null when ``nullable``)."""
    if value is None and nullable:
        return
    if type(value) is not int:
        raise _expected(pointer, "an integer or null" if nullable else "an integer", value)
    if not 0 <= value <= MAX_SAFE_INTEGER:
        raise MalformedRecord(pointer, f"integer out of range 0..2^53-1: {value}")


def _string_list(value: Any, pointer: str) -> None:
    if type(value) is not list:
        raise _expected(pointer, "an array of strings", value)
    for index, item in enumerate(value):
        _string(item, f"{pointer}/{index}")


def _members(value: Any, pointer: str, expected: tuple[str, ...]) -> None:
    if type(value) is not dict:
        raise _expected(pointer, "an object", value)
    if len(value) != len(expected) or not all(name in value for name in expected):
        for name in expected:
            if name not in value:
                raise MalformedRecord(f"{pointer}/{name}", "missing member")
        for name in sorted(value):
            if name not in expected:
                raise MalformedRecord(f"{pointer}/{pointer_token(name)}", "unexpected member")


def check_time(value: Any, pointer: str = "/time") -> None:
    """RFC 3339 UTC with exactly six fractional digits and ``Z``; a real calendar instant."""
    _string(value, pointer)
    found = TIME_RE.fullmatch(value)
    if found is None:
        raise MalformedRecord(pointer, "expected RFC 3339 UTC like 2026-11-25T04:00:00.123456Z")
    try:
        dt.date.fromisoformat(found.group(1))
    except ValueError:
        raise MalformedRecord(pointer, f"no such date: {found.group(1)}") from None
    hour, minute, second = (int(found.group(i)) for i in (2, 3, 4))
    if hour > 23 or minute > 59 or second > 59:
        raise MalformedRecord(pointer, "no such time of day (leap seconds are not written)")


def check_actor(value: Any, pointer: str = "/actor") -> None:
    """A system actor ``{"type","id"}`` or a user actor with the eight OIDC members."""
    if type(value) is not dict:
        raise _expected(pointer, "an object", value)
    kind = value.get("type")
    if kind == "system":
        _members(value, pointer, SYSTEM_ACTOR_MEMBERS)
        _string(value["id"], f"{pointer}/id")
        if SYSTEM_ID_RE.fullmatch(value["id"]) is None:
            raise MalformedRecord(f"{pointer}/id", "expected system:<component> in lower case")
    elif kind == "user":
        _members(value, pointer, USER_ACTOR_MEMBERS)
        _string(value["iss"], f"{pointer}/iss", nonempty=True)
        _string(value["sub"], f"{pointer}/sub", nonempty=True)
        _string(value["name"], f"{pointer}/name", nullable=True)
        _string_list(value["roles"], f"{pointer}/roles")
        _string(value["acr"], f"{pointer}/acr", nullable=True)
        _string_list(value["amr"], f"{pointer}/amr")
        check_integer(value["auth_time"], f"{pointer}/auth_time", nullable=True)
    elif "type" not in value:
        raise MalformedRecord(f"{pointer}/type", "missing member")
    else:
        raise MalformedRecord(f"{pointer}/type", 'expected "system" or "user"')


def check_subject(value: Any, pointer: str = "/subject") -> None:
    """An object mapping names (thread, interrupt, approval, graph…) to a string or null."""
    if type(value) is not dict:
        raise _expected(pointer, "an object", value)
    for key, item in value.items():
        _unicode(key, pointer)
        _string(item, f"{pointer}/{pointer_token(key)}", nullable=True)


def check_data(value: Any, pointer: str = "/data", depth: int = 0) -> None:
    """JSON without floats, integers within ±(2^53−1), nested at most 16 deep."""
    if depth > _MAX_DATA_DEPTH:
        raise MalformedRecord(pointer, f"nested deeper than {_MAX_DATA_DEPTH} levels")
    kind = type(value)
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str:
                raise MalformedRecord(pointer, f"object key {key!r} is not a string")
            _unicode(key, pointer)
            check_data(item, f"{pointer}/{pointer_token(key)}", depth + 1)
    elif kind is list:
        for index, item in enumerate(value):
            check_data(item, f"{pointer}/{index}", depth + 1)
    elif kind is int:
        if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            raise MalformedRecord(pointer, f"integer out of range ±(2^53-1): {value}")
    elif kind is str:
        _unicode(value, pointer)
    elif not (value is None or kind is bool):
        what = "a number with a fraction or exponent (records hold integers only)"
        raise MalformedRecord(pointer, f"unsupported value: {_json_type(value)}"
                              if kind is not float else what)


def check_fields(fields: Any) -> None:
    """Check what a caller supplies to ``finalize_record``: exactly the seven field members."""
    _members(fields, "", FIELD_MEMBERS)
    _check_field_values(fields)


def _check_field_values(fields: Mapping[str, Any]) -> None:
    check_time(fields["time"])
    check_actor(fields["actor"])
    _string(fields["action"], "/action")
    if ACTION_RE.fullmatch(fields["action"]) is None:
        raise MalformedRecord("/action", "expected a dotted lower-case verb like decision.recorded")
    check_subject(fields["subject"])
    digest = fields["payload_digest"]
    _string(digest, "/payload_digest", nullable=True)
    if digest is not None and DIGEST_RE.fullmatch(digest) is None:
        raise MalformedRecord("/payload_digest", "expected hmac-sha256:<64 lower-case hex>")
    _string(fields["policy"], "/policy", nullable=True)
    if type(fields["data"]) is not dict:
        raise _expected("/data", "an object", fields["data"])
    check_data(fields["data"])


def check_hex64(value: Any, pointer: str) -> None:
    """64 lower-case hex digits (a SHA-256 hash)."""
    _string(value, pointer)
    if HEX64_RE.fullmatch(value) is None:
        raise MalformedRecord(pointer, "expected 64 lower-case hex digits")


def check_record(value: Any) -> None:
    """Check a whole sealed record (as parsed from a line): version first, then members."""
    if type(value) is not dict:
        raise _expected("", "a JSON object", value)
    version = value.get("v")
    if type(version) is int and version != FORMAT_VERSION:
        raise MalformedRecord("/v", f"unknown format version {version} "
                              f"(this verifier reads version {FORMAT_VERSION})")
    _members(value, "", RECORD_MEMBERS)
    if type(version) is not int:
        raise _expected("/v", "the integer 1", version)
    check_integer(value["seq"], "/seq")
    _check_field_values(value)
    check_hex64(value["prev"], "/prev")
    check_hex64(value["hash"], "/hash")
