"""RFC 8785 (JCS) canonical JSON, with a fast path where the standard library agrees.

``json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` produces exactly
the RFC 8785 bytes for a value made only of ``dict`` (string keys), ``list``/``tuple``,
``str``, ``bool``, ``None`` and ``int`` within ±(2^53−1), provided no key holds a character
outside the Basic Multilingual Plane: Python sorts keys by code point and RFC 8785 by UTF-16
code unit, and the two orders differ only when a surrogate pair meets U+E000..U+FFFF. Its
string escaping is the one RFC 8785 prescribes (``\\"``, ``\\\\``, ``\\b \\f \\n \\r \\t``,
``\\u00xx`` in lower case for other controls, everything else literal). A lone surrogate
survives ``json.dumps`` but fails the UTF-8 encoding, as RFC 8785 requires. Anything else
(floats above all, whose ECMAScript number formatting Python's ``repr`` does not follow) goes
to ``rfc8785.dumps``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import rfc8785

from oversight_audit.errors import CanonicalizationError

MAX_SAFE_INTEGER = 2**53 - 1
_MAX_FAST_DEPTH = 64

_ENCODER = json.JSONEncoder(
    ensure_ascii=False,
    allow_nan=False,
    sort_keys=True,
    separators=(",", ":"),
    check_circular=False,
)


def _scalar_ok(value: Any) -> bool | None:
    """True/False for a scalar the fast path does/does not take; None for a container."""
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        return bool(-MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER)
    if kind is dict or kind is list or kind is tuple:
        return None
    return False


def fast_path_applies(value: Any, depth: int = 0) -> bool:
    """Whether ``json.dumps`` is byte-for-byte RFC 8785 for ``value``, keys aside.

    Keys must be strings here; whether one holds a character outside the BMP is checked on
    the output (see ``canonical_json``), which is cheaper in the usual all-ASCII case.
    """
    if depth >= _MAX_FAST_DEPTH:
        return False
    kind = type(value)
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str:
                return False
            verdict = _scalar_ok(item)
            if not (verdict or (verdict is None and fast_path_applies(item, depth + 1))):
                return False
        return True
    if kind is list or kind is tuple:
        for item in value:
            verdict = _scalar_ok(item)
            if not (verdict or (verdict is None and fast_path_applies(item, depth + 1))):
                return False
        return True
    return bool(_scalar_ok(value))


def _keys_in_bmp(value: Any) -> bool:
    if type(value) is dict:
        return all(
            (key.isascii() or all(ord(char) <= 0xFFFF for char in key)) and _keys_in_bmp(item)
            for key, item in value.items()
        )
    if type(value) is list or type(value) is tuple:
        return all(_keys_in_bmp(item) for item in value)
    return True


def _one_shot_encoder() -> Callable[[Any], str]:
    """``_ENCODER.encode`` without building a new C encoder object on every call.

    ``JSONEncoder.encode`` makes its C encoder afresh each time, from the encoder's own
    settings; this makes it once with the same arguments (or, where the standard library
    has no C encoder, keeps ``_ENCODER.encode``).
    """
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return _ENCODER.encode
    try:
        chunks = make(None, _ENCODER.default, json.encoder.encode_basestring, None,
                      _ENCODER.key_separator, _ENCODER.item_separator, _ENCODER.sort_keys,
                      _ENCODER.skipkeys, _ENCODER.allow_nan)
        probe: Any = {"b": [1, "\u00e9\n", None, True], "a": {}}
        if "".join(chunks(probe, 0)) != _ENCODER.encode(probe):
            return _ENCODER.encode
    except (TypeError, ValueError):  # another signature in another Python
        return _ENCODER.encode

    def encode(value: Any) -> str:
        return "".join(chunks(value, 0))

    return encode


#: ``json.dumps`` with RFC 8785's settings; equal to RFC 8785 only where the module doc says.
encode_fast = _one_shot_encoder()


def canonical_json(value: Any) -> bytes:
    """The RFC 8785 canonical JSON bytes of ``value``.

    Floats are accepted and written as RFC 8785 prescribes (ECMAScript number formatting);
    NaN, infinities, integers outside ±(2^53−1), non-string keys, lone surrogates and
    non-JSON types raise ``CanonicalizationError``. Ledger *records* admit no floats at all
    (see ``records``); payloads may hold them.
    """
    try:
        if fast_path_applies(value):
            text = encode_fast(value)
            if text.isascii() or _keys_in_bmp(value):
                return text.encode("utf-8")
        return rfc8785.dumps(value)
    except UnicodeEncodeError as exc:
        raise CanonicalizationError("a string holds a lone surrogate (not valid Unicode)") from exc
    except rfc8785.CanonicalizationError as exc:
        raise CanonicalizationError(str(exc)) from exc
    except RecursionError as exc:
        raise CanonicalizationError("the value is nested too deeply (or circular)") from exc
