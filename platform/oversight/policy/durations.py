"""Durations as policy authors write them: ``30s``, ``30m``, ``4h``, ``2d``, ``1h30m``, or
ISO 8601 (``PT30M``, ``P1D``, ``P1DT12H``, ``P2W``). Months and years are refused: their
length depends on the calendar."""

from __future__ import annotations

import re
from datetime import timedelta

DURATION_PATTERN = (
    r"^(?:(?:\d+w)?(?:\d+d)?(?:\d+h)?(?:\d+m)?(?:\d+s)?"
    r"|P(?:\d+W)?(?:\d+D)?(?:T(?:\d+H)?(?:\d+M)?(?:\d+(?:\.\d+)?S)?)?)$"
)
DURATION_HINT = "a duration such as 30s, 30m, 4h, 2d, 1h30m or ISO 8601 PT30M, P1D"

_SHORT = re.compile(r"^(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_ISO = re.compile(r"^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$")
_MAX_TEXT = 40


def parse_duration(text: str) -> timedelta:
    """Parse a duration; raise ``ValueError`` with a sentence for a person otherwise."""
    if len(text) > _MAX_TEXT:
        raise ValueError(f"{text[:_MAX_TEXT]!r}… is not a duration (expected {DURATION_HINT})")
    found = _SHORT.match(text) or _ISO.match(text)
    if found is None or not any(found.groups()) or text.endswith("T"):
        hint = ""
        if _ISO.match(text.upper()) or _SHORT.match(text.lower()):
            hint = "; units are case-sensitive (m = minutes in 30m, M in ISO PT30M)"
        elif re.match(r"^P\d+[YM]", text.upper()):
            hint = "; months and years are not allowed, their length varies"
        raise ValueError(f"{text!r} is not a duration (expected {DURATION_HINT}){hint}")
    weeks, days, hours, minutes, seconds = (float(part) if part else 0.0 for part in found.groups())
    value = timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds)
    if value <= timedelta(0):
        raise ValueError(f"{text!r} is zero; a duration must be longer than that")
    return value


def describe_duration(value: timedelta) -> str:
    """``timedelta(hours=4, minutes=30)`` → ``"4 hours 30 minutes"``."""
    remaining = int(value.total_seconds())
    parts: list[str] = []
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute"), (1, "second")):
        amount, remaining = divmod(remaining, size)
        if amount:
            parts.append(f"{amount} {unit}{'s' if amount != 1 else ''}")
    return " ".join(parts) or "less than a second"
