"""Approval requests and decisions: opening, viewing, deciding, closing.

Every transition and its ledger record happen in the caller's transaction (services flush,
the edge commits). Rows are locked ``FOR UPDATE`` before a decision, so two approvers
deciding at the same instant in two processes are serialised and exactly one can make the
request final.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from oversight.approvals import checks, notices, rules
from oversight.approvals.checks import APPROVING
from oversight.approvals.exceptions import (
    ApprovalNotFound,
    DecisionInvalid,
    DecisionRefused,
)
from oversight.approvals.models import PENDING, ApprovalDecision, ApprovalRequest, ApprovalView
from oversight.auth.identity import Principal
from oversight.db import insert_row, write_changes
from oversight.ledger import service as ledger
from oversight.ledger.actors import Actor, SystemActor
from oversight.policy.outcomes import PolicyOutcome, Requirement
from oversight_audit import canonical_json

_STATUS_OF_KIND = {"require": PENDING, "auto_approve": "auto_approved", "deny": "denied"}


def payload_fingerprint(payload: Any) -> str:
    """``sha256:<hex>`` of the payload's canonical JSON: the version an approver is shown."""
    return "sha256:" + hashlib.sha256(canonical_json(payload)).hexdigest()


@dataclass(frozen=True)
class RequestDraft:
    """One approval request an interrupt asks for (adapters make these)."""

    interrupt_id: str
    node: str
    action: str
    shape: str
    payload: Any
    summary: str | None = None
    part: int = 0
    parts: int = 1
    allowed: tuple[str, ...] | None = None


@dataclass(frozen=True)
class DecisionResult:
    """What a decision did: the request after it, and whether the interrupt is now final."""

    request: ApprovalRequest
    decision: ApprovalDecision
    became_final: bool
    interrupt_final: bool
    replayed: bool = False
    decisions: tuple[ApprovalDecision, ...] = ()  # all of the request's, this one last


def subject_of(request: ApprovalRequest) -> dict[str, str | None]:
    """The ledger ``subject`` of records about ``request``."""
    return {"graph": request.graph, "thread": request.thread_id,
            "interrupt": request.interrupt_id, "approval": request.id}


def requirement_of(request: ApprovalRequest) -> Requirement | None:
    """The rule's requirement stored with the request (None for policy decisions)."""
    return _requirement(request.requirement)


@functools.lru_cache(maxsize=512)
def _requirement(stored: str) -> Requirement | None:
    # Requests of one rule store the same text, and a Requirement is frozen: parse it once.
    data = json.loads(stored)
    return Requirement.model_validate(data) if data else None


def open_request(
    session: Session,
    *,
    thread_id: str,
    graph: str,
    draft: RequestDraft,
    outcome: PolicyOutcome,
    requester: Principal | None,
    now: dt.datetime,
) -> ApprovalRequest:
    """Create the request the policy outcome calls for, with its ledger records."""
    requirement = outcome.requirement
    if requirement is not None and draft.allowed is not None:
        allowed = tuple(d for d in requirement.decisions if d in draft.allowed) or ("reject",)
        requirement = requirement.model_copy(update={"decisions": allowed})
    digest = payload_fingerprint(draft.payload)
    request = ApprovalRequest(
        id=str(uuid.uuid4()), thread_id=thread_id, interrupt_id=draft.interrupt_id,
        part=draft.part, parts=draft.parts, graph=graph, node=draft.node, action=draft.action,
        shape=draft.shape, summary=draft.summary,
        payload=canonical_json(draft.payload).decode(), payload_digest=digest,
        original_digest=digest, status=_STATUS_OF_KIND[outcome.kind],
        outcome={"auto_approve": "approve", "deny": "reject"}.get(outcome.kind),
        reason=outcome.reason, policy_version=outcome.policy_version, rule_id=outcome.rule_id,
        requirement=json.dumps(requirement.model_dump(mode="json") if requirement else {}),
        requester_issuer=requester.issuer if requester else None,
        requester_subject=requester.subject if requester else None,
        created_at=now,
        deadline_at=now + requirement.deadline if requirement else None,
        decided_at=None if outcome.kind == "require" else now,
    )
    insert_row(session, request)
    subject = subject_of(request)
    ledger.append_record(
        session, action="policy.evaluated", actor=SystemActor("policy"), subject=subject,
        policy=outcome.policy_version, time=now,
        data={"rule": outcome.rule_id, "outcome": outcome.kind, "action": draft.action,
              "reason": outcome.reason},
    )
    if requirement is not None:
        ledger.append_record(
            session, action="approval.requested", actor=SystemActor("gateway"),
            subject=subject, policy=outcome.policy_version, time=now, payload=draft.payload,
            data={"approvers": rules.describe_groups(requirement.approvers),
                  "decisions": list(requirement.decisions),
                  "deadline": request.deadline_at.isoformat() if request.deadline_at else None,
                  "step_up": requirement.step_up is not None},
        )
        notices.queue_notice(session, request, channels=requirement.notify,
                             approvers=requirement.approvers, event="approval.requested",
                             now=now)
    return request


# built once: building a statement costs about as much as running it
_REQUEST = select(ApprovalRequest).where(ApprovalRequest.id == bindparam("request_id"))
_REQUEST_FOR_UPDATE = _REQUEST.with_for_update()
_DECISIONS = (select(ApprovalDecision).where(ApprovalDecision.request_id == bindparam("request_id"))
              .order_by(ApprovalDecision.created_at, ApprovalDecision.id))


def get_request(session: Session, *, request_id: str, for_update: bool = False) -> ApprovalRequest:
    """One request, or ``ApprovalNotFound``."""
    request = session.scalars(_REQUEST_FOR_UPDATE if for_update else _REQUEST,
                              {"request_id": request_id}).first()
    if request is None:
        raise ApprovalNotFound(f"no approval request {request_id}", approval=request_id)
    return request


def siblings(session: Session, request: ApprovalRequest, *, for_update: bool = False
             ) -> list[ApprovalRequest]:
    """Every part of the same interrupt, ``part`` order (the request itself included)."""
    if request.parts <= 1:
        return [request]  # an interrupt of one part: nothing more to read (or lock)
    query = (select(ApprovalRequest)
             .where(ApprovalRequest.thread_id == request.thread_id,
                    ApprovalRequest.interrupt_id == request.interrupt_id)
             .order_by(ApprovalRequest.part))
    if for_update:
        query = query.with_for_update()
    return list(session.scalars(query))


def decisions_of(session: Session, request: ApprovalRequest) -> list[ApprovalDecision]:
    """Decisions on ``request`` in the order they were taken."""
    return list(session.scalars(_DECISIONS, {"request_id": request.id}))


def decisions_by_request(session: Session, request_ids: Sequence[str]
                         ) -> dict[str, tuple[ApprovalDecision, ...]]:
    """Decisions on each of ``request_ids`` (in the order taken), in one query; requests
    without any are absent."""
    found: dict[str, list[ApprovalDecision]] = {}
    if request_ids:
        for decision in session.scalars(
                select(ApprovalDecision).where(ApprovalDecision.request_id.in_(request_ids))
                .order_by(ApprovalDecision.created_at, ApprovalDecision.id)):
            found.setdefault(decision.request_id, []).append(decision)
    return {request_id: tuple(decisions) for request_id, decisions in found.items()}


def record_view(session: Session, *, request: ApprovalRequest, principal: Principal,
                now: dt.datetime) -> None:
    """Record that ``principal`` was shown the request's current payload."""
    exists = session.scalar(select(ApprovalView.id).where(
        ApprovalView.request_id == request.id, ApprovalView.viewer_issuer == principal.issuer,
        ApprovalView.viewer_subject == principal.subject,
        ApprovalView.payload_digest == request.payload_digest))
    if exists is None:
        session.add(ApprovalView(request_id=request.id, viewer_issuer=principal.issuer,
                                 viewer_subject=principal.subject,
                                 payload_digest=request.payload_digest, viewed_at=now))
    ledger.append_record(session, action="approval.viewed", actor=principal.to_actor(),
                         subject=subject_of(request), policy=request.policy_version, time=now,
                         payload=json.loads(request.payload))
    session.flush()


def _principal_of(decision: ApprovalDecision) -> Principal:
    return Principal(issuer=decision.decider_issuer, subject=decision.decider_subject,
                     roles=frozenset(decision.decider_roles.split()))


def decide(
    session: Session,
    *,
    request_id: str,
    principal: Principal,
    kind: str,
    payload_digest: str,
    edits: Mapping[str, Any] | None = None,
    response: str | None = None,
    comment: str | None = None,
    idempotency_key: str | None = None,
    now: dt.datetime,
) -> DecisionResult:
    """Take ``principal``'s decision, or raise ``DecisionRefused`` (nothing recorded then)."""
    if idempotency_key:
        earlier = session.scalars(select(ApprovalDecision).where(
            ApprovalDecision.idempotency_key == idempotency_key)).first()
        if earlier is not None:
            if earlier.request_id != request_id or not principal.same_person(
                    earlier.decider_issuer, earlier.decider_subject):
                raise DecisionInvalid("this Idempotency-Key was used for another decision",
                                      code="idempotency_key_reused")
            request = get_request(session, request_id=request_id)
            return DecisionResult(request=request, decision=earlier, became_final=False,
                                  interrupt_final=False, replayed=True)
    request = get_request(session, request_id=request_id, for_update=True)
    parts = siblings(session, request, for_update=True) if request.parts > 1 else [request]
    decisions = decisions_of(session, request)
    requirement = checks.check(session, request, requirement_of(request), decisions, principal,
                               kind, payload_digest, comment, now)
    shown = json.loads(request.payload)
    edit = rules.apply_edits(requirement, shown, edits) if kind == "edit" else None
    if kind == "respond" and not (response and response.strip()):
        raise DecisionInvalid("a response needs text (/response)", code="response_missing",
                              pointer="/response")
    if edit is not None:
        request.original_payload = request.original_payload or request.payload
        request.payload = canonical_json(edit.payload).decode()
        request.payload_digest = payload_fingerprint(edit.payload)
    decision = ApprovalDecision(
        id=str(uuid.uuid4()), request_id=request.id, decider_issuer=principal.issuer,
        decider_subject=principal.subject, decider_name=principal.name,
        decider_roles=" ".join(sorted(principal.roles)), outcome=kind,
        edits=json.dumps(edit.fields) if edit else None, response=response, comment=comment,
        # the digest of what the decider approves: an edit approves what it produced
        payload_digest=request.payload_digest, acr=principal.acr,
        amr=" ".join(sorted(principal.amr)) or None, idempotency_key=idempotency_key,
        created_at=now)
    insert_row(session, decision, attach=False)
    final = _settle(request, requirement, [*decisions, decision], kind, response, comment, now)
    write_changes(session, request)
    ledger.append_record(
        session, action="decision.recorded", actor=principal.to_actor(),
        subject=subject_of(request), policy=request.policy_version, time=now,
        payload={"shown": shown, "edits": edit.fields if edit else None, "comment": comment,
                 "response": response},
        data={"decision": kind, "final": final, "status": request.status},
    )
    interrupt_final = final and all(p.status != PENDING for p in parts)
    return DecisionResult(request=request, decision=decision, became_final=final,
                          interrupt_final=interrupt_final, decisions=(*decisions, decision))


def _settle(request: ApprovalRequest, requirement: Requirement,
            decisions: Sequence[ApprovalDecision], kind: str, response: str | None,
            comment: str | None, now: dt.datetime) -> bool:
    if kind == "reject":
        request.status, request.outcome, request.reason = "rejected", "reject", comment
    elif kind == "respond":
        request.status, request.outcome, request.response = "responded", "respond", response
    else:
        approvers = [_principal_of(d) for d in decisions
                     if d.outcome in APPROVING and d.payload_digest == request.payload_digest]
        if not rules.fills_quorum(requirement.approvers, approvers):
            return False
        request.status = "approved"
        request.outcome = "edit" if request.payload_digest != request.original_digest else "approve"
    request.decided_at = now
    return True


def record_refusal(session: Session, *, request_id: str, principal: Principal, kind: str,
                   error: DecisionRefused, now: dt.datetime) -> None:
    """Record a refused attempt to decide: who, what, why."""
    request = session.get(ApprovalRequest, request_id)
    subject = subject_of(request) if request else {"approval": request_id}
    ledger.append_record(session, action="decision.refused", actor=principal.to_actor(),
                         subject=subject, policy=request.policy_version if request else None,
                         time=now, data={"decision": kind, "code": error.code,
                                         "reason": error.detail})


def close_requests(session: Session, requests: Sequence[ApprovalRequest], *, status: str,
                   action: str, actor: Actor, reason: str, now: dt.datetime) -> None:
    """Close requests (expired, cancelled, closed, resumed) with one ledger record each."""
    for request in requests:
        request.status = status
        request.closed_at = now
        if reason and request.reason is None:
            request.reason = reason
        if len(requests) == 1:  # a resume's own request: one Core UPDATE; many (a stop):
            write_changes(session, request)  # the flush sends them as one executemany
        ledger.append_record(session, action=action, actor=actor, subject=subject_of(request),
                             policy=request.policy_version, time=now, data={"reason": reason})
    session.flush()


def final_summary(session: Session, request: ApprovalRequest,
                  decisions: Sequence[ApprovalDecision] | None = None
                  ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Every edit applied (later edits over earlier ones) and who made the request final
    (``decisions``: the request's, in order, when the caller has them already)."""
    edits: dict[str, Any] = {}
    deciders: list[dict[str, Any]] = []
    for d in decisions_of(session, request) if decisions is None else decisions:
        if d.edits:
            edits.update(json.loads(d.edits))
        if ((d.outcome in APPROVING and d.payload_digest == request.payload_digest)
                or d.outcome in ("reject", "respond")):
            deciders.append({"issuer": d.decider_issuer, "subject": d.decider_subject,
                             "name": d.decider_name, "decision": d.outcome})
    return edits, deciders
