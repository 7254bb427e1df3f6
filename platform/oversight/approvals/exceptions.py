"""Errors of approvals::

    OversightError
    └── ApprovalError
        ├── ApprovalNotFound      (404)
        └── DecisionRefused       (403) the decision was not accepted; ``code`` says why
            ├── StepUpRequired    (403) signed in too weakly for this rule (carries acr/max_age)
            ├── StaleView         (409) the request changed or was decided since it was shown
            └── DecisionInvalid   (422) the decision itself is malformed (edits, kind)
"""

from __future__ import annotations

from oversight.errors import OversightError


class ApprovalError(OversightError):
    type = "approval"
    title = "Approval error"


class ApprovalNotFound(ApprovalError):
    type = "approval-not-found"
    title = "No such approval request"
    status = 404


class DecisionRefused(ApprovalError):
    """A refused decision; ``code`` is stable (``not_eligible``, ``self_approval``, …)."""

    type = "decision-refused"
    title = "Decision refused"
    status = 403

    def __init__(self, detail: str, *, code: str, **extra: object) -> None:
        super().__init__(detail, code=code, **extra)
        self.code = code


class StepUpRequired(DecisionRefused):
    type = "step-up-required"
    title = "Stronger sign-in required"


class StaleView(DecisionRefused):
    type = "stale-view"
    title = "The request changed since it was shown"
    status = 409


class DecisionInvalid(DecisionRefused):
    type = "decision-invalid"
    title = "The decision is not valid for this request"
    status = 422
