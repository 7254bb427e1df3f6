"""Tables of approval requests and the decisions people take on them.

A request is a state machine: ``pending`` → ``approved`` | ``rejected`` | ``responded``
(final, a resume job is enqueued) → ``resumed``; or ``pending`` → ``expired`` | ``cancelled``
| ``closed`` (its interrupt is no longer pending); or ``auto_approved`` / ``denied`` by policy.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from oversight.db import Base, UTCDateTime

PENDING = "pending"
FINAL_STATUSES = ("approved", "rejected", "responded", "auto_approved", "denied")
CLOSED_STATUSES = ("resumed", "expired", "cancelled", "closed", "failed")


class ApprovalRequest(Base):
    """One interrupt (or one action of a batched interrupt) waiting on people or decided."""

    __tablename__ = "approval_request"
    __table_args__ = (
        UniqueConstraint("thread_id", "interrupt_id", "part"),
        Index("ix_approval_request_pending_deadline", "status", "deadline_at"),
        Index("ix_approval_request_listing", "status", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    thread_id: Mapped[str] = mapped_column(ForeignKey("thread.id"), index=True)
    interrupt_id: Mapped[str] = mapped_column(String(200))
    part: Mapped[int] = mapped_column(Integer, default=0, comment="index in a batched interrupt")
    parts: Mapped[int] = mapped_column(Integer, default=1)
    graph: Mapped[str] = mapped_column(String(200), index=True)
    node: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(200), index=True)
    shape: Mapped[str] = mapped_column(String(40))
    summary: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[str] = mapped_column(Text, comment="canonical JSON shown to approvers")
    original_payload: Mapped[str | None] = mapped_column(
        Text, comment="the payload as raised, kept once an edit replaced it")
    payload_digest: Mapped[str] = mapped_column(String(80))
    original_digest: Mapped[str] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(20), index=True)
    outcome: Mapped[str | None] = mapped_column(String(20))
    response: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    policy_version: Mapped[str] = mapped_column(String(80))
    rule_id: Mapped[str] = mapped_column(String(200))
    requirement: Mapped[str] = mapped_column(Text, comment="JSON of the rule's requirement")
    requester_issuer: Mapped[str | None] = mapped_column(String(300))
    requester_subject: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    deadline_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    escalation_step: Mapped[int] = mapped_column(
        Integer, default=0, server_default="0",
        comment="escalation steps of on_timeout applied so far (by the sweeper)")


class ApprovalDecision(Base):
    """One person's decision on one version (digest) of a request's payload."""

    __tablename__ = "approval_decision"
    __table_args__ = (
        UniqueConstraint("request_id", "decider_issuer", "decider_subject", "payload_digest",
                         name="uq_approval_decision_once"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("approval_request.id"), index=True)
    decider_issuer: Mapped[str] = mapped_column(String(300))
    decider_subject: Mapped[str] = mapped_column(String(300))
    decider_name: Mapped[str | None] = mapped_column(String(300))
    decider_roles: Mapped[str] = mapped_column(Text, comment="space-separated roles when deciding")
    outcome: Mapped[str] = mapped_column(String(20))
    edits: Mapped[str | None] = mapped_column(Text)
    response: Mapped[str | None] = mapped_column(Text)
    comment: Mapped[str | None] = mapped_column(Text)
    payload_digest: Mapped[str] = mapped_column(String(80), comment="the digest the decider saw")
    acr: Mapped[str | None] = mapped_column(String(300))
    amr: Mapped[str | None] = mapped_column(String(300))
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class ApprovalView(Base):
    """When a person was shown a version of a request's payload (against rubber-stamping)."""

    __tablename__ = "approval_view"
    __table_args__ = (
        UniqueConstraint("request_id", "viewer_issuer", "viewer_subject", "payload_digest",
                         name="uq_approval_view_once"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("approval_request.id"), index=True)
    viewer_issuer: Mapped[str] = mapped_column(String(300))
    viewer_subject: Mapped[str] = mapped_column(String(300))
    payload_digest: Mapped[str] = mapped_column(String(80))
    viewed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
