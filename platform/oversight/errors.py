"""Oversight's exception tree.

Every error a person may see carries a stable ``type`` (a URI path under
``https://oversight.dev/problems/``), a short ``title`` and an HTTP ``status``, so the API can
render it as RFC 9457 problem+json and the CLI as a sentence::

    OversightError
    ├── ConfigurationError          (500) settings or keys are unusable
    ├── LedgerError
    │   ├── LedgerBusy               (503) another sequencer holds the lock; push back
    │   ├── LedgerCorrupted          (500) the stored chain does not verify
    │   ├── NotSealedYet             (409) no checkpoint covers the record yet
    │   ├── LedgerRequestInvalid     (422) a seq or tree size that does not fit the ledger
    │   └── RecordNotFound           (404)
    └── (domain packages add their own subtrees: policy, approvals, gateway, auth)
"""

from __future__ import annotations

from typing import Any, ClassVar

PROBLEM_BASE = "https://oversight.dev/problems/"


class OversightError(Exception):
    """Base of every error Oversight raises on purpose."""

    type: ClassVar[str] = "error"
    title: ClassVar[str] = "Oversight error"
    status: ClassVar[int] = 500

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra

    def problem(self) -> dict[str, Any]:
        """The RFC 9457 problem document for this error."""
        return {
            "type": PROBLEM_BASE + self.type,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            **self.extra,
        }


class ConfigurationError(OversightError):
    type = "configuration"
    title = "Configuration error"


class LedgerError(OversightError):
    type = "ledger"
    title = "Ledger error"


class LedgerBusy(LedgerError):
    type = "ledger-busy"
    title = "Another sequencer is sealing the ledger"
    status = 503


class LedgerCorrupted(LedgerError):
    type = "ledger-corrupted"
    title = "The stored ledger does not verify"


class NotSealedYet(LedgerError):
    type = "not-sealed-yet"
    title = "Not covered by a checkpoint yet"
    status = 409


class LedgerRequestInvalid(LedgerError):
    type = "ledger-request-invalid"
    title = "The request does not fit the ledger"
    status = 422


class RecordNotFound(LedgerError):
    type = "record-not-found"
    title = "No such ledger record"
    status = 404
