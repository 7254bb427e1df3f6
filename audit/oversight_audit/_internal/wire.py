"""Standard base64 as every Oversight format writes it: hashes, keys, signatures."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterable
from typing import Any


def b64(value: bytes) -> str:
    """Standard base64 with padding."""
    return base64.b64encode(value).decode()


def unb64(text: str) -> bytes | None:
    """Strict standard base64 (padding required, nothing else allowed); ``None`` if not."""
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        return None


def b64_hashes(values: Iterable[bytes]) -> list[str]:
    """Hashes as a list of base64 strings (manifests and receipts)."""
    return [b64(value) for value in values]


def hashes_from_b64(
    value: Any, pointer: str, error: Callable[[str], Exception]
) -> tuple[bytes, ...]:
    """A JSON array of base64 32-byte hashes; ``error(message)`` names the bad item."""
    if type(value) is not list:
        raise error(f"{pointer}: expected an array of base64 hashes")
    result = []
    for index, item in enumerate(value):
        decoded = unb64(item) if type(item) is str else None
        if decoded is None:
            raise error(f"{pointer}/{index}: not valid base64")
        if len(decoded) != 32:
            raise error(f"{pointer}/{index}: a hash is 32 bytes, not {len(decoded)}")
        result.append(decoded)
    return tuple(result)
