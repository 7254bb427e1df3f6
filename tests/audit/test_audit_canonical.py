"""RFC 8785: our canonical JSON equals the ``rfc8785`` package on every input it accepts."""

from __future__ import annotations

import json
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from oversight_audit import CanonicalizationError, canonical_json
from oversight_audit._internal.canonical import encode_fast, fast_path_applies

SAFE = 2**53 - 1
# Text with the awkward characters: controls, quotes, backslashes, non-BMP, U+E000..U+FFFF.
awkward_text = st.text(alphabet=st.one_of(
    st.characters(max_codepoint=0x7F),
    st.sampled_from("\"\\/\b\f\n\r\t\x00\x1f\x7f é€\ue000\uffff😀𝄞"),
    st.characters(min_codepoint=0xE000, max_codepoint=0xFFFF),
    st.characters(min_codepoint=0x10000, max_codepoint=0x10FFFF),
), max_size=8)
scalars = st.one_of(
    st.none(), st.booleans(), awkward_text,
    st.integers(min_value=-SAFE, max_value=SAFE),
    st.integers(min_value=-(2**60), max_value=2**60),  # some outside the safe range
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0.0, -0.0, 1.0, 1e21, 1e-7, 5e-324, 1.7976931348623157e308, 0.1, 100.0]),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(awkward_text, inner, max_size=4)),
    max_leaves=12,
)


def _reference(value: Any) -> bytes | None:
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, UnicodeEncodeError):
        return None


@settings(max_examples=400, deadline=None)
@given(json_values)
def test_canonical_json_is_rfc8785(value: Any) -> None:
    expected = _reference(value)
    if expected is None:
        with pytest.raises(CanonicalizationError):
            canonical_json(value)
    else:
        assert canonical_json(value) == expected


@settings(max_examples=400, deadline=None)
@given(json_values)
def test_the_fast_path_equals_rfc8785_wherever_it_is_taken(value: Any) -> None:
    if fast_path_applies(value):
        try:
            fast = encode_fast(value).encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: RFC 8785 refuses it too
            assert _reference(value) is None
            return
        text_is_ascii = fast.isascii()
        if text_is_ascii:  # the fast path's own guard for keys outside the BMP
            assert fast == _reference(value)


def test_key_order_is_by_utf16_code_units_not_code_points() -> None:
    value = {"\ue000": 1, "😀": 2}  # U+1F600 sorts first in UTF-16 (D83D...), last by code point
    assert canonical_json(value) == rfc8785.dumps(value)
    assert canonical_json(value).index("😀".encode()) < canonical_json(value).index(b"\xee")


@pytest.mark.parametrize("value", [float("nan"), float("inf"), 2**53, -(2**53), {1: "a"},
                                   "\ud800", {"a": object()}])
def test_values_rfc8785_cannot_encode_are_refused(value: Any) -> None:
    with pytest.raises(CanonicalizationError):
        canonical_json(value)


def test_floats_follow_ecmascript_formatting() -> None:
    assert canonical_json([1.0, 1e21, 1e-7, 0.1, -0.0]) == b"[1,1e+21,1e-7,0.1,0]"
    assert json.dumps(1.0) == "1.0"  # why floats never take the standard library's path
