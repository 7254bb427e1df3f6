"""Whether a decision may be taken: the request is pending and shown as decided on, the
decision is one the rule allows, and the person may take it (not the requester, not twice,
in a group the rule names, signed in strongly enough, having read it long enough).

Each refusal raises with a stable ``code``; nothing is recorded here (the caller records the
refusal in its own transaction).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from oversight.approvals import rules
from oversight.approvals.exceptions import DecisionInvalid, DecisionRefused, StaleView
from oversight.approvals.models import PENDING, ApprovalDecision, ApprovalRequest, ApprovalView
from oversight.auth.identity import Principal
from oversight.policy.outcomes import Requirement

DECISION_KINDS = ("approve", "reject", "edit", "respond")
APPROVING = ("approve", "edit")


def check(session: Session, request: ApprovalRequest, requirement: Requirement | None,
           decisions: Sequence[ApprovalDecision], principal: Principal, kind: str,
           payload_digest: str, comment: str | None, now: dt.datetime) -> Requirement:
    if request.status != PENDING:
        raise StaleView(f"this request is already {request.status}; nothing was recorded",
                        code="not_pending", status_now=request.status)
    if payload_digest != request.payload_digest:
        raise StaleView("the payload changed since it was shown to you; reload it and decide "
                        "again", code="digest_mismatch", payload_digest=request.payload_digest)
    if requirement is None:
        raise DecisionInvalid("this request was decided by policy", code="not_pending")
    if kind not in DECISION_KINDS:
        raise DecisionInvalid(f"{kind!r} is not a decision; expected one of "
                              f"{list(DECISION_KINDS)}", code="unknown_decision", pointer="/decision")
    if kind not in requirement.decisions:
        raise DecisionInvalid(f"this rule allows {list(requirement.decisions)}, not {kind!r}",
                              code="decision_not_allowed", pointer="/decision")
    if principal.same_person(request.requester_issuer, request.requester_subject):
        raise DecisionRefused("you raised this request; separation of duties forbids "
                              "deciding it yourself", code="self_approval")
    if not any(rules.qualifies(group, principal) for group in requirement.approvers):
        raise DecisionRefused(f"this request needs {rules.describe_groups(requirement.approvers)}"
                              "; you are not among them", code="not_eligible")
    for earlier in decisions:
        if (principal.same_person(earlier.decider_issuer, earlier.decider_subject)
                and earlier.payload_digest == request.payload_digest):
            raise DecisionRefused("you already decided this request; approvers must be "
                                  "distinct people", code="already_decided")
    if requirement.exclude_earlier_approvers and approved_earlier_step(session, request, principal):
        raise DecisionRefused("you approved an earlier step of this thread; this rule needs "
                              "someone else", code="earlier_approver")
    rules.check_step_up(requirement.step_up, principal, now)
    if requirement.min_review_seconds:
        _check_review_time(session, request, principal, requirement.min_review_seconds, now)
    if kind == "reject" and not (comment and comment.strip()):
        raise DecisionInvalid("a rejection needs a reason (/comment)", code="reason_missing",
                              pointer="/comment")
    return requirement


def approved_earlier_step(session: Session, request: ApprovalRequest,
                          principal: Principal) -> bool:
    """Did ``principal`` approve another request of the same thread?"""
    found = session.scalar(
        select(ApprovalDecision.id)
        .join(ApprovalRequest, ApprovalRequest.id == ApprovalDecision.request_id)
        .where(ApprovalRequest.thread_id == request.thread_id,
               ApprovalRequest.id != request.id,
               ApprovalDecision.decider_issuer == principal.issuer,
               ApprovalDecision.decider_subject == principal.subject,
               ApprovalDecision.outcome.in_(APPROVING))
        .limit(1))
    return found is not None


def _check_review_time(session: Session, request: ApprovalRequest, principal: Principal,
                       minimum: int, now: dt.datetime) -> None:
    viewed = session.scalar(select(ApprovalView.viewed_at).where(
        ApprovalView.request_id == request.id, ApprovalView.viewer_issuer == principal.issuer,
        ApprovalView.viewer_subject == principal.subject,
        ApprovalView.payload_digest == request.payload_digest))
    if viewed is None:
        raise DecisionRefused("open the request and read it before deciding: this rule needs "
                              f"at least {minimum} s of review", code="not_viewed")
    spent = (now - viewed).total_seconds()
    if spent < minimum:
        raise DecisionRefused(f"decided {spent:.0f} s after opening; this rule asks for at least "
                              f"{minimum} s of review to guard against rubber-stamping",
                              code="too_fast", wait_seconds=int(minimum - spent) + 1)
