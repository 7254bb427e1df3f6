"""Regular expressions on RE2, a linear-time engine, over bounded input.

A payload comes from an agent and may be hostile. RE2 never backtracks, so its run time
is linear in the input, and we cut the input to :data:`MAX_REGEX_INPUT` characters
first: a regex condition sees only the beginning of a very long string.
"""

from __future__ import annotations

import re
from functools import lru_cache

import re2

MAX_REGEX_INPUT = 65_536
"""Characters of a string a regular expression looks at (the first 64 Ki)."""

MAX_PATTERN = 2_000
"""Longest pattern a policy may hold, in characters."""


class Regex:
    """A compiled pattern that answers only "is there a match anywhere?"."""

    __slots__ = ("_search", "pattern")

    def __init__(self, pattern: str) -> None:
        options = re2.Options()
        options.log_errors = False
        options.never_capture = True
        self.pattern = pattern
        self._search = re2.compile(pattern, options).search

    def search(self, text: str) -> bool:
        """True if the pattern matches somewhere in the first ``MAX_REGEX_INPUT`` chars."""
        # Encoding here (not in re2) lets lone surrogates, which JSON allows, become '?'.
        data = text[:MAX_REGEX_INPUT].encode("utf-8", "replace")
        return self._search(data) is not None


@lru_cache(maxsize=4096)
def compile_regex(pattern: str) -> Regex:
    """Compile once; raise ``ValueError`` with a sentence for a person if RE2 refuses it."""
    if len(pattern) > MAX_PATTERN:
        raise ValueError(f"the pattern is {len(pattern)} characters long; "
                         f"at most {MAX_PATTERN} are allowed")
    try:
        return Regex(pattern)
    except re2.error as exc:
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        where = _python_position(pattern)
        raise ValueError(f"the regular expression {pattern!r} is not valid for RE2: {reason}"
                         f"{where} (RE2 has no look-around and no back-references)") from None


def _python_position(pattern: str) -> str:
    # RE2 does not say where a pattern goes wrong; Python's parser often can.
    try:
        re.compile(pattern)
    except re.error as exc:
        if exc.pos is not None:
            return f" at character {exc.pos + 1} of the pattern"
    return ""
