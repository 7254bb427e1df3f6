"""C2SP signed notes with Ed25519 keys (https://c2sp.org/signed-note).

A note is UTF-8 text ending in a newline, a blank line, then signature lines
``— <name> <base64(key id ‖ signature)>``. A key id is the first four bytes of
``SHA-256(name ‖ "\\n" ‖ 0x01 ‖ public key)``; a verifier key is written
``<name>+<key id as 8 hex>+<base64(0x01 ‖ public key)>``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from oversight_audit._internal.wire import b64, unb64
from oversight_audit.errors import MalformedKey, MalformedNote, SignatureError, UnverifiedNote

__all__ = [
    "OpenedNote",
    "SignerKey",
    "VerifierKey",
    "key_id",
    "open_note",
    "sign_note",
]

ALG_ED25519 = 0x01
SIGNATURE_PREFIX = "— "  # an em dash (U+2014) and a space
_MAX_SIGNATURES = 100


def key_id(name: str, public_key_raw: bytes) -> bytes:
    """The 4-byte key id: ``SHA-256(name ‖ 0x0A ‖ 0x01 ‖ key)[:4]``."""
    digest = hashlib.sha256(name.encode() + b"\n" + bytes([ALG_ED25519]) + public_key_raw)
    return digest.digest()[:4]


def _name_problem(name: str) -> str | None:
    if not name:
        return "the key name is empty"
    if "+" in name:
        return "the key name contains '+'"
    if any(char.isspace() for char in name):
        return "the key name contains white space"
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return "the key name is not valid Unicode"
    return None


@dataclass(frozen=True, slots=True)
class VerifierKey:
    """A public key that may verify notes: name, 4-byte key id, raw 32-byte Ed25519 key."""

    name: str
    key_id: bytes
    public_key: bytes

    def __post_init__(self) -> None:
        problem = _name_problem(self.name)
        if problem is not None:
            raise MalformedKey(problem)
        if len(self.public_key) != 32:
            raise MalformedKey(f"an Ed25519 public key is 32 bytes, not {len(self.public_key)}")
        if self.key_id != key_id(self.name, self.public_key):
            raise MalformedKey(f"key id {self.key_id.hex()} does not match the name and key")

    @classmethod
    def from_string(cls, text: str) -> VerifierKey:
        """Parse ``<name>+<8 hex>+<base64(0x01 ‖ key)>``, naming precisely what is wrong."""
        text = text.strip()
        parts = text.split("+", 2)  # the base64 key may itself contain "+"
        if len(parts) != 3:
            raise MalformedKey(f"expected <name>+<8 hex key id>+<base64 key>, got {text[:80]!r}")
        name, hex_id, encoded = parts
        problem = _name_problem(name)
        if problem is not None:
            raise MalformedKey(f"{problem}: {text[:80]!r}")
        if len(hex_id) != 8 or any(c not in "0123456789abcdefABCDEF" for c in hex_id):
            raise MalformedKey(f"the key id must be 8 hex digits, got {hex_id!r}")
        raw = unb64(encoded)
        if raw is None:
            raise MalformedKey(f"the key of {name} is not valid base64")
        if not raw or raw[0] != ALG_ED25519:
            found = f"0x{raw[0]:02x}" if raw else "nothing"
            raise MalformedKey(f"the key of {name} starts with algorithm byte {found}; "
                               "only 0x01 (Ed25519) is supported")
        if len(raw) != 33:
            raise MalformedKey(f"the key of {name} holds {len(raw) - 1} bytes; "
                               "an Ed25519 key holds 32")
        expected = key_id(name, raw[1:])
        if bytes.fromhex(hex_id) != expected:
            raise MalformedKey(f"the key id {hex_id} of {name} is wrong: the name and key "
                               f"give {expected.hex()}")
        return cls(name=name, key_id=expected, public_key=raw[1:])

    def __str__(self) -> str:
        encoded = b64(bytes([ALG_ED25519]) + self.public_key)
        return f"{self.name}+{self.key_id.hex()}+{encoded}"

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Whether ``signature`` is this key's Ed25519 signature of ``message``."""
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class SignerKey:
    """A private Ed25519 key and the name its signatures carry."""

    name: str
    private_key: Ed25519PrivateKey

    def __post_init__(self) -> None:
        problem = _name_problem(self.name)
        if problem is not None:
            raise MalformedKey(problem)

    def verifier_key(self) -> VerifierKey:
        """The matching public ``VerifierKey``."""
        raw = self.private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return VerifierKey(name=self.name, key_id=key_id(self.name, raw), public_key=raw)


@dataclass(frozen=True)
class OpenedNote:
    """A note whose signatures were checked: its text and the trusted keys that signed it."""

    text: str
    verified_by: tuple[VerifierKey, ...]


def _check_text(text: str) -> None:
    for char in text:
        if char < " " and char != "\n":
            raise MalformedNote(f"the note holds control character {ord(char):#04x}")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise MalformedNote("the note is not valid Unicode") from None


def sign_note(text: str, signers: Sequence[SignerKey]) -> str:
    """Sign ``text`` (which must end in a newline) with each signer; return the whole note."""
    if not text.endswith("\n"):
        raise MalformedNote("a note's text must end with a newline")
    if not signers:
        raise ValueError("a note needs at least one signer")
    _check_text(text)
    message = text.encode()
    lines = []
    for signer in signers:
        verifier = signer.verifier_key()
        signature = signer.private_key.sign(message)
        encoded = b64(verifier.key_id + signature)
        lines.append(f"{SIGNATURE_PREFIX}{signer.name} {encoded}\n")
    return text + "\n" + "".join(lines)


def open_note(note: str, known: Iterable[VerifierKey]) -> OpenedNote:
    """Verify ``note`` against ``known`` keys and return its text and who verified it.

    Signatures by keys not in ``known`` (by name and key id) are ignored. A signature by a
    known key that does not verify raises ``SignatureError``; a note without any verified
    signature raises ``UnverifiedNote``; broken framing raises ``MalformedNote``.
    """
    _check_text(note)
    split = note.rfind("\n\n")
    if split < 0:
        raise MalformedNote("no blank line before the signatures")
    text, block = note[: split + 1], note[split + 2 :]
    if not block or not block.endswith("\n"):
        raise MalformedNote("the signature block is empty or does not end with a newline")
    keys = {(key.name, key.key_id): key for key in known}
    message = text.encode()
    verified: list[VerifierKey] = []
    unknown: list[str] = []
    lines = block[:-1].split("\n")
    if len(lines) > _MAX_SIGNATURES:
        raise MalformedNote(f"more than {_MAX_SIGNATURES} signature lines")
    for number, line in enumerate(lines, start=1):
        if not line.startswith(SIGNATURE_PREFIX):
            raise MalformedNote(f"signature line {number} does not start with '— '")
        name, _, encoded = line[len(SIGNATURE_PREFIX) :].partition(" ")
        raw = unb64(encoded) or b""
        if _name_problem(name) is not None or not encoded or len(raw) < 5:
            raise MalformedNote(f"signature line {number} is not '— <name> <base64>'")
        key = keys.get((name, raw[:4]))
        if key is None:
            unknown.append(f"{name}+{raw[:4].hex()}")
            continue
        if key in verified:
            continue
        if not key.verify(message, raw[4:]):
            raise SignatureError(f"the signature by {name}+{raw[:4].hex()} does not verify")
        verified.append(key)
    if not verified:
        signed_by = ", ".join(unknown) or "nobody"
        raise UnverifiedNote(f"no signature by a trusted key (signed by {signed_by})")
    return OpenedNote(text=text, verified_by=tuple(verified))
