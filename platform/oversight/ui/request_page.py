"""One request: what the agent wants, why a person must decide, and the decision forms.

Opening the page records ``approval.viewed`` (the minimum review time counts from there).
Every decision form posts the payload digest the page showed and a fresh idempotency key, so
a request that changed or was decided meanwhile is refused with an explanation and a
double-submitted form never decides twice. An edit is shown as a diff to confirm first.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from oversight.approvals import rules
from oversight.approvals.checks import approved_earlier_step
from oversight.approvals.exceptions import ApprovalNotFound, DecisionRefused, StepUpRequired
from oversight.approvals.history import event_of
from oversight.approvals.models import ApprovalDecision, ApprovalRequest, ApprovalView
from oversight.approvals.service import decisions_of, requirement_of
from oversight.approvals.visibility import has_decided, may_see
from oversight.auth.csrf import uses_bearer_token, verify_csrf
from oversight.auth.forms import urlencoded_form
from oversight.auth.identity import Principal
from oversight.gateway.service import Gateway
from oversight.ledger import service as ledger
from oversight.policy.explain import describe_requirement, explain_event
from oversight.policy.outcomes import Requirement, StepUp
from oversight.ui import editform, present
from oversight.ui.inbox import my_streak, risk_of
from oversight.ui.pages import Person, page_router, render

router = page_router()
DONE_WORDS = {"approve": "Your approval is recorded.", "reject": "Your rejection is recorded.",
              "edit": "Your edit is recorded and approves the changed request.",
              "respond": "Your response is recorded."}


@dataclass(frozen=True)
class Eligibility:
    """Can this person decide now, and if not, why (in words)."""

    can_decide: bool
    why_not: str | None = None
    step_up: StepUp | None = None


def step_up_url(request_id: str, step_up: StepUp, step_up_acr: str | None) -> str:
    """``/auth/login`` asking the provider for the stronger sign-in this rule needs."""
    params: dict[str, Any] = {"next": f"/requests/{request_id}"}
    acr_values = " ".join(step_up.acr) or (step_up_acr if step_up.amr else None)
    if acr_values:
        params["acr_values"] = acr_values
    params["max_age"] = int(step_up.max_age.total_seconds()) if step_up.max_age else 0
    return "/auth/login?" + urlencode(params)


def eligibility(session: Session, request: ApprovalRequest, requirement: Requirement | None,
                principal: Principal, now: dt.datetime) -> Eligibility:
    """The checks of a decision, in the order a person understands them (step-up last)."""
    if request.status != "pending":
        return Eligibility(False, f"This request is {request.status}; nothing more to decide.")
    if requirement is None:
        return Eligibility(False, "The policy decided this request.")
    if principal.same_person(request.requester_issuer, request.requester_subject):
        return Eligibility(False, "You raised this request. Separation of duties: someone else "
                           "must decide it.")
    if not any(rules.qualifies(group, principal) for group in requirement.approvers):
        return Eligibility(False, f"This request needs {rules.describe_groups(requirement.approvers)}"
                           "; your roles are not among them.")
    if has_decided(session, request, principal):
        return Eligibility(False, "You already decided this request. Each approver must be a "
                           "different person.")
    if requirement.exclude_earlier_approvers and approved_earlier_step(session, request, principal):
        return Eligibility(False, "You approved an earlier step of this run; this rule needs "
                           "someone else.")
    try:
        rules.check_step_up(requirement.step_up, principal, now)
    except StepUpRequired as refused:
        return Eligibility(False, refused.detail, step_up=requirement.step_up)
    return Eligibility(True)


def _approvers(decisions: list[ApprovalDecision], digest: str) -> list[Principal]:
    return [Principal(issuer=d.decider_issuer, subject=d.decider_subject,
                      roles=frozenset(d.decider_roles.split()))
            for d in decisions if d.outcome in ("approve", "edit") and d.payload_digest == digest]


def _why(request: Request, session: Session, approval: ApprovalRequest,
         requirement: Requirement | None) -> dict[str, Any]:
    store = request.app.state.policy_store
    current = store.current
    rule = next((r for r in current.rules if r.id == approval.rule_id), None)
    matched: list[str] = []
    if current.version == approval.policy_version:
        explanation = explain_event(current, event_of(session, approval))
        matched = [reason for check in explanation.checks if check.matched
                   for reason in check.reasons]
    return {"rule": rule, "matched": matched, "same_version": current.version == approval.policy_version,
            "lines": describe_requirement(requirement) if requirement else []}


def _page(request: Request, principal: Principal, approval: ApprovalRequest, *,
          error: str | None = None, status: int = 200, form: dict[str, str] | None = None,
          done: str | None = None) -> HTMLResponse:
    gateway = request.app.state.gateway
    now = gateway.clock()
    with request.app.state.read_sessions() as session:
        approval = session.get(ApprovalRequest, approval.id) or approval
        requirement = requirement_of(approval)
        decisions = decisions_of(session, approval)
        able = eligibility(session, approval, requirement, principal, now)
        viewed_at = session.scalar(select(ApprovalView.viewed_at).where(
            ApprovalView.request_id == approval.id, ApprovalView.viewer_issuer == principal.issuer,
            ApprovalView.viewer_subject == principal.subject,
            ApprovalView.payload_digest == approval.payload_digest))
        trail = ledger.recorded(session, thread_id=approval.thread_id)
        why = _why(request, session, approval, requirement)
        streak = my_streak(session, principal)
    payload = json.loads(approval.payload)
    ready_at = None
    if requirement and requirement.min_review_seconds and viewed_at is not None:
        ready_at = present.utc(viewed_at) + dt.timedelta(seconds=requirement.min_review_seconds)
    auth = request.app.state.oversight_auth.settings
    return render(
        request, "request.html", status=status, approval=approval, requirement=requirement,
        fields=present.payload_fields(payload), payload_json=json.dumps(payload, indent=2,
                                                                        ensure_ascii=False),
        original=json.loads(approval.original_payload) if approval.original_payload else None,
        decisions=decisions, able=able, why=why, trail=trail, risk=risk_of(approval),
        needs=present.remaining(requirement, _approvers(decisions, approval.payload_digest))
        if requirement else [],
        timeout=present.timeout_words(requirement, approval.escalation_step),
        step_up_href=step_up_url(approval.id, able.step_up, auth.step_up_acr_values)
        if able.step_up else None,
        edit_inputs=editform.inputs_for(requirement, payload)
        if requirement and "edit" in requirement.decisions and requirement.editable_fields else [],
        ready_at=ready_at, error=error, form=form or {}, done=DONE_WORDS.get(done or ""),
        idempotency_key=secrets.token_urlsafe(18), streak=streak)


def _visible(request: Request, approval_id: str, principal: Principal) -> ApprovalRequest:
    with request.app.state.read_sessions() as session:
        approval: ApprovalRequest | None = session.get(ApprovalRequest, approval_id)
        if approval is None or not may_see(approval, principal,
                                           has_decided(session, approval, principal)):
            raise ApprovalNotFound(f"There is no approval request {approval_id} that you may see.")
        session.expunge(approval)
        return approval


@router.get("/requests/{approval_id}", response_class=HTMLResponse)
async def show(approval_id: str, request: Request, principal: Person) -> HTMLResponse:
    """The request page; opening it is recorded as ``approval.viewed``."""
    approval = _visible(request, approval_id, principal)
    gateway: Gateway = request.app.state.gateway
    approval = await gateway.view(approval_id, principal=principal)
    return _page(request, principal, approval, done=request.query_params.get("done"))


@router.post("/requests/{approval_id}/decide", response_model=None)
async def decide(approval_id: str, request: Request, principal: Person) -> Response:
    """Take the decision the form carries; refusals come back on the page, explained."""
    form = await urlencoded_form(request)
    if not uses_bearer_token(request):  # a browser never attaches a bearer token on its own
        verify_csrf(request, form.get("csrf_token"))
    approval = _visible(request, approval_id, principal)
    kind = form.get("decision", "")
    requirement = requirement_of(approval)
    edits = None
    try:
        if kind == "edit":
            if requirement is None:
                raise DecisionRefused("the policy decided this request", code="not_pending")
            shown = json.loads(approval.payload)
            edits = editform.edits_from_form(requirement, shown, form)
            if not edits:
                return _page(request, principal, approval, status=422, form=form,
                             error="Nothing changed: edit a field, or approve as it is.")
            if form.get("confirm") != "yes":
                return render(request, "confirm_edit.html", approval=approval, form=form,
                              changes=editform.diff(shown, edits),
                              comment=form.get("comment", ""))
        await request.app.state.gateway.decide(
            approval_id, principal=principal, decision=kind,
            payload_digest=form.get("payload_digest", ""), edits=edits,
            response=form.get("response") or None, comment=form.get("comment") or None,
            idempotency_key=(form.get("idempotency_key") or "")[:200] or None)
    except StepUpRequired as refused:
        if requirement is not None and requirement.step_up is not None:
            auth = request.app.state.oversight_auth.settings
            return RedirectResponse(step_up_url(approval_id, requirement.step_up,
                                                auth.step_up_acr_values), status_code=303)
        return _page(request, principal, approval, status=refused.status, form=form,
                     error=refused.detail)
    except DecisionRefused as refused:
        return _page(request, principal, approval, status=refused.status, form=form,
                     error=_refusal_words(refused))
    return RedirectResponse(f"/requests/{approval_id}?done={kind}", status_code=303)


def _refusal_words(refused: DecisionRefused) -> str:
    detail = refused.detail[:1].upper() + refused.detail[1:]
    if refused.code == "digest_mismatch":
        return "The request changed since this page showed it. Read it again below; nothing was recorded."
    if refused.code == "not_pending":
        return f"{detail.rstrip('.')}. Someone decided it while you were reading."
    return detail if detail.endswith(".") else detail + "."
