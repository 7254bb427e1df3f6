"""Checking that an approval payload is JSON-safe, when it is raised.

A payload travels through the LangGraph checkpointer (msgpack), the ledger (RFC 8785
canonical JSON), the API and the approver's screen. msgpack accepts some values JSON cannot
hold (``datetime``, ``Decimal``, ``bytes``, sets, NaN) and fails on others *after* the
interrupt was raised, which leaves a thread that looks paused but holds no interrupt; a
string with a lone surrogate is stored as ``"?"``. (Observed with langgraph 1.2; see
tests/gateway/test_payloads.py.) So the gateway checks the payload before anything is
checkpointed and names the first offending value by its JSON pointer.

Allowed: ``None``, ``bool``, ``int`` within ±(2**53 − 1), finite ``float``, ``str``
(without lone surrogates), ``list``, ``tuple`` (it becomes a JSON array, so it comes back
as a list), and ``dict`` with ``str`` keys, nested at most ``max_depth`` deep and at most
``max_bytes`` long as compact UTF-8 JSON. Subclasses of these are accepted except enums.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import enum
import itertools
import json
import math
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

from oversight.gateway.exceptions import GatewayError

# The C string encoder json.dumps(..., ensure_ascii=False) uses, without building an encoder
# per call (which made the walk several times slower).
_encode_string: Callable[[str], str] = json.encoder.encode_basestring

MAX_DEPTH = 64
"""Arrays and objects a payload may nest, counting the outermost one."""

MAX_PAYLOAD_BYTES = 1 << 20
"""Longest payload, measured as compact UTF-8 JSON (``separators=(",", ":")``)."""

MAX_SAFE_INTEGER = 2**53 - 1
"""Largest integer every JSON parser (JavaScript's included) reads back exactly."""

HINTS: Mapping[str, str] = {
    "datetime": "convert it with .isoformat()",
    "timedelta": "convert it with .total_seconds(), or to an ISO 8601 duration string",
    "decimal": "convert it with str(...) to keep every digit (float(...) if rounding is fine)",
    "bytes": "decode text with .decode('utf-8'); encode binary data with base64",
    "uuid": "convert it with str(...)",
    "enum": "use its .value",
    "set": "convert it with sorted(...) or list(...)",
    "dataclass": "convert it with dataclasses.asdict(...)",
    "model": "convert it with .model_dump(mode='json')",
    "object": "convert it to a dict, list, str, number, bool or None",
    "nan": "NaN is not JSON: send null, or a string such as \"NaN\"",
    "infinity": "Infinity is not JSON: send null, a string, or a finite bound",
    "integer": "integers beyond ±(2**53 − 1) lose precision in JSON: send it as a string",
    "key": "JSON object keys are strings: convert the key with str(...)",
    "surrogate": "the string holds a lone surrogate (U+D800–U+DFFF), which UTF-8 cannot "
    "encode; decode the source bytes without errors='surrogateescape'",
    "depth": "flatten the payload, or send deep documents by reference (a URL or an id)",
    "size": "send large documents by reference (a URL or an id) and show a summary",
}


@dataclass(frozen=True)
class UnsafeValue:
    """Where a payload stops being JSON-safe, and what to do about it."""

    segments: tuple[str | int, ...]
    kind: str
    type_name: str
    where: str = "payload"
    key: str | None = None  # for kind "key": the offending key, shown for people

    @property
    def pointer(self) -> str:
        """RFC 6901 JSON pointer of the offending value (``""`` is the whole payload)."""
        return json_pointer(self.segments)

    @property
    def path(self) -> str:
        """The same place as Python would subscript it: ``payload["hotel"]["check_in"]``."""
        return self.where + "".join(f"[{json.dumps(s)}]" for s in self.segments)

    @property
    def hint(self) -> str:
        return HINTS[self.kind]

    def describe(self, *, max_depth: int, max_bytes: int) -> str:
        """One sentence for a person."""
        if self.kind == "key":
            return f"{self.path} has the key {self.key} ({self.type_name}): {self.hint}"
        if self.kind == "depth":
            return f"{self.path} nests deeper than {max_depth} levels: {self.hint}"
        if self.kind == "size":
            return (f"{self.where} is longer than {max_bytes} bytes as JSON, passing the limit "
                    f"at {self.path}: {self.hint}")
        return f"{self.path} ({self.type_name}) is not JSON-safe: {self.hint}"


class UnsafePayload(GatewayError):
    """An approval payload holds a value JSON cannot carry faithfully (a ``GatewayError``)."""

    type: ClassVar[str] = "unsafe-payload"
    title: ClassVar[str] = "The payload is not JSON-safe"
    status: ClassVar[int] = 422

    def __init__(self, detail: str, *, unsafe: UnsafeValue) -> None:
        super().__init__(detail, pointer=unsafe.pointer, path=unsafe.path, kind=unsafe.kind,
                         hint=unsafe.hint)
        self.unsafe = unsafe


def json_pointer(segments: Sequence[str | int]) -> str:
    """The RFC 6901 pointer for a path of object keys and array indexes."""
    return "".join("/" + str(s).replace("~", "~0").replace("/", "~1") for s in segments)


def check_json_safe(
    value: object,
    *,
    where: str = "payload",
    max_depth: int = MAX_DEPTH,
    max_bytes: int = MAX_PAYLOAD_BYTES,
) -> None:
    """Raise ``UnsafePayload`` naming the first value (in document order) JSON cannot carry.

    ``where`` names the value in messages (``payload["a"][0]``). The walk is iterative and
    stops at ``max_depth`` and ``max_bytes``, so a cyclic or hostile structure can neither
    exhaust the stack nor run for long.
    """
    unsafe = find_unsafe_value(value, where=where, max_depth=max_depth, max_bytes=max_bytes)
    if unsafe is not None:
        detail = unsafe.describe(max_depth=max_depth, max_bytes=max_bytes)
        raise UnsafePayload(f"{detail} (at JSON pointer {unsafe.pointer!r})", unsafe=unsafe)


def find_unsafe_value(
    value: object,
    *,
    where: str = "payload",
    max_depth: int = MAX_DEPTH,
    max_bytes: int = MAX_PAYLOAD_BYTES,
) -> UnsafeValue | None:
    """The first place ``value`` stops being JSON-safe, or ``None`` if it is safe."""
    path: list[str | int] = []
    # One iterator of (segment, child, separator bytes) per open container; its length is
    # the nesting depth.
    stack: list[Iterator[tuple[str | int, object, int]]] = []
    size = 0  # bytes of compact UTF-8 JSON so far, counted exactly
    item: object = value
    while True:
        item_size = _scalar_size(item)
        if item_size is not None:
            pass
        elif isinstance(item, dict | list | tuple):
            if len(stack) >= max_depth:
                return UnsafeValue(tuple(path), "depth", _type_name(item), where)
            item_size = 2
        elif isinstance(item, _Key):  # a key, checked in document order before its value
            item_size = _str_size(item.key)
            if item_size is None:
                return UnsafeValue(tuple(path), "surrogate", "str", where)
        elif isinstance(item, _BadKey):
            return item.unsafe
        else:
            return UnsafeValue(tuple(path), _kind(item), _type_name(item), where)
        size += item_size
        if size > max_bytes:
            name = "str" if isinstance(item, _Key) else _type_name(item)
            return UnsafeValue(tuple(path), "size", name, where)
        if isinstance(item, dict):
            stack.append(_members(item, tuple(path), where))
            path.append("")  # replaced by each child's segment
        elif isinstance(item, list | tuple):
            stack.append(zip(itertools.count(), item, _separators(), strict=False))
            path.append(0)
        while stack:
            child = next(stack[-1], None)
            if child is not None:
                path[-1], item, separator = child
                size += separator
                break
            stack.pop()
            path.pop()
        else:
            return None


def _separators() -> Iterator[int]:
    """No comma before the first element, one before each other."""
    return itertools.chain((0,), itertools.repeat(1))


@dataclass(frozen=True)
class _Key:
    key: str


@dataclass(frozen=True)
class _BadKey:
    unsafe: UnsafeValue


def _members(
    container: dict[object, object], at: tuple[str | int, ...], where: str
) -> Iterator[tuple[str | int, object, int]]:
    """Each key (then its value) of an object, in order; a non-string key ends the walk."""
    for index, (key, value) in enumerate(container.items()):
        if not isinstance(key, str) or isinstance(key, enum.Enum):
            shown = repr(key) if key is None or type(key) in (int, float, bool) else "…"
            bad = UnsafeValue(at, "key", _type_name(key), where, key=shown)
            yield "", _BadKey(bad), 0
            return
        yield key, _Key(key), 1 if index else 0
        yield key, value, 1  # the ":"


def _scalar_size(item: object) -> int | None:
    """Bytes of compact JSON for an allowed scalar; ``None`` if ``item`` is not one."""
    if item is None:
        return 4
    if isinstance(item, bool):
        return 4 if item else 5
    if isinstance(item, enum.Enum):  # msgpack stores enums by class name, not by value
        return None
    if isinstance(item, int):
        return len(int.__repr__(item)) if abs(item) <= MAX_SAFE_INTEGER else None
    if isinstance(item, float):
        return len(float.__repr__(item)) if math.isfinite(item) else None
    if isinstance(item, str):
        return _str_size(item)
    return None


def _str_size(text: str) -> int | None:
    """Bytes of ``text`` as a JSON string; ``None`` if it holds a lone surrogate."""
    quoted = _encode_string(text)
    if quoted.isascii():
        return len(quoted)
    try:
        return len(quoted.encode("utf-8"))
    except UnicodeEncodeError:
        return None


def _kind(item: object) -> str:
    kinds: tuple[tuple[type | tuple[type, ...], str], ...] = (
        (enum.Enum, "enum"),
        (str, "surrogate"),
        (int, "integer"),
        ((dt.datetime, dt.date, dt.time), "datetime"),
        (dt.timedelta, "timedelta"),
        (decimal.Decimal, "decimal"),
        ((bytes, bytearray, memoryview), "bytes"),
        (uuid.UUID, "uuid"),
        ((set, frozenset), "set"),
    )
    if isinstance(item, float):
        return "nan" if math.isnan(item) else "infinity"
    for types, kind in kinds:
        if isinstance(item, types):
            return kind
    if dataclasses.is_dataclass(item):
        return "dataclass"
    if callable(getattr(item, "model_dump", None)):
        return "model"
    return "object"


def _type_name(item: object) -> str:
    cls = type(item)
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"
