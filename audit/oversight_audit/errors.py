"""Everything ``oversight_audit`` raises on purpose, in two branches.

``FormatError`` means the input is not in the format at all (exit status 2 from the CLI:
"unusable input", with file, line and JSON pointer where known). ``VerificationError``
means the input is well formed but a check failed (exit status 1), naming the first failing
``seq`` where there is one and the ``check`` that failed::

    AuditError
    ├── FormatError (ValueError)           the input is not in the format
    │   ├── CanonicalizationError          a value RFC 8785 cannot encode
    │   ├── MalformedRecord                .pointer: a JSON pointer into the record
    │   ├── MalformedKey                   a verifier key string
    │   ├── MalformedNote                  a signed note's framing or signature lines
    │   ├── MalformedCheckpoint            a checkpoint body
    │   ├── MalformedReceipt               a receipt document
    │   └── BundleError                    .file, .line: a bundle file that cannot be used
    └── VerificationError                  .seq, .check: a check failed
        ├── ChainError                     hash, prev or seq of a record
        ├── RootMismatch                   records do not hash to a checkpoint's root
        ├── CheckpointError                origin, size, chain head, coverage
        ├── PayloadMismatch                a payload does not match its record's digest
        ├── ProofError
        │   ├── InclusionProofError        RFC 9162 §2.1.3.2 fails
        │   └── ConsistencyProofError      RFC 9162 §2.1.4.2 fails
        ├── SignatureError                 a known key's signature does not verify
        └── UnverifiedNote                 no signature by a trusted key
"""

from __future__ import annotations

__all__ = [
    "AuditError",
    "BundleError",
    "CanonicalizationError",
    "ChainError",
    "CheckpointError",
    "ConsistencyProofError",
    "FormatError",
    "InclusionProofError",
    "MalformedCheckpoint",
    "MalformedKey",
    "MalformedNote",
    "MalformedReceipt",
    "MalformedRecord",
    "PayloadMismatch",
    "ProofError",
    "RootMismatch",
    "SignatureError",
    "UnverifiedNote",
    "VerificationError",
]


class AuditError(Exception):
    """Base of every error ``oversight_audit`` raises on purpose."""


class FormatError(AuditError, ValueError):
    """The input is not in the format; nothing about its integrity can be said."""


class CanonicalizationError(FormatError):
    """A value RFC 8785 cannot encode (NaN, an integer past 2^53-1, a non-string key…)."""


class MalformedRecord(FormatError):
    """A record breaks the record format; ``pointer`` is a JSON pointer to the culprit."""

    def __init__(self, pointer: str, problem: str) -> None:
        where = pointer or "the record"
        super().__init__(f"{where}: {problem}")
        self.pointer = pointer
        self.problem = problem


class MalformedKey(FormatError):
    """A verifier key string is not ``<name>+<8 hex>+<base64(0x01 ‖ key)>``."""


class MalformedNote(FormatError):
    """A signed note's text or signature lines break C2SP signed-note."""


class MalformedCheckpoint(FormatError):
    """A checkpoint body breaks C2SP tlog-checkpoint or Oversight's extension line."""


class MalformedReceipt(FormatError):
    """A receipt document is not an ``oversight-receipt/v1`` JSON object."""


class BundleError(FormatError):
    """A bundle file is missing or unusable; names the ``file`` and, where known, ``line``."""

    def __init__(self, file: str, problem: str, *, line: int | None = None) -> None:
        where = file if line is None else f"{file} line {line}"
        super().__init__(f"{where}: {problem}")
        self.file = file
        self.line = line
        self.problem = problem


class VerificationError(AuditError):
    """Well-formed input failed a check; ``seq`` is the first failing record, if any."""

    check: str = "verification"

    def __init__(self, problem: str, *, seq: int | None = None, check: str | None = None) -> None:
        if check is not None:
            self.check = check
        prefix = f"seq {seq}: " if seq is not None else ""
        super().__init__(f"{prefix}{self.check}: {problem}")
        self.seq = seq
        self.problem = problem


class ChainError(VerificationError):
    """A record's hash does not recompute, its ``prev`` does not link, or ``seq`` skips."""

    check = "chain"


class RootMismatch(VerificationError):
    """The Merkle root recomputed from the records differs from a signed checkpoint's."""

    check = "root"


class CheckpointError(VerificationError):
    """A checkpoint names the wrong origin, size or chain head, or fails to cover records."""

    check = "checkpoint"


class PayloadMismatch(VerificationError):
    """A stored payload does not match the keyed digest its record commits to."""

    check = "payload"


class ProofError(VerificationError):
    """A Merkle proof does not verify."""

    check = "proof"


class InclusionProofError(ProofError):
    """An inclusion proof fails RFC 9162 §2.1.3.2."""

    check = "inclusion proof"


class ConsistencyProofError(ProofError):
    """A consistency proof fails RFC 9162 §2.1.4.2."""

    check = "consistency proof"


class SignatureError(VerificationError):
    """A signature by a known key (name and key id) does not verify."""

    check = "signature"


class UnverifiedNote(VerificationError):
    """A signed note carries no valid signature by any trusted key."""

    check = "signature"
