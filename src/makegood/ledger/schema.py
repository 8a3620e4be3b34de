"""The ledger's tables (SQLAlchemy Core). The schema itself is created by the Alembic
migration in `makegood/migrations/versions`; a test checks the two agree."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint

from makegood.db import UTCDateTime, json_type, metadata

STATUSES = ("offered", "accepted", "pending", "approved", "rejected")
TIERS = ("self_service", "agent", "peer", "supervisor", "manager")
DECISIONS = ("approve", "cosign", "reject", "escalate")
VERDICTS = ("upheld", "overturned")
EVENT_KINDS = ("proposal_logged", "decision", "status_changed", "review", "attachment_added")
ATTACHMENT_TYPES = ("image/jpeg", "image/png", "image/webp")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


proposals = Table(
    "proposals",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("public_id", String(16), nullable=False, unique=True),
    Column("conversation_id", String(128), nullable=False),
    Column("turn_key", String(128), nullable=False),
    Column("channel", String(32), nullable=False),
    Column("situation", String(64), nullable=False),
    Column("customer_id", String(32), nullable=True),
    Column("order_id", String(32), nullable=True),
    Column("facts", json_type(), nullable=False),
    Column("options_offered", json_type(), nullable=False),
    Column("option_chosen", json_type(nullable=True), nullable=True),
    Column("customer_ask", json_type(nullable=True), nullable=True),
    Column("context", json_type(), nullable=False),
    Column("policy_version", String(64), nullable=False),
    Column("tier_required", String(16), nullable=False),
    Column("requested_by", String(128), nullable=False),
    Column("status", String(16), nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    UniqueConstraint("conversation_id", "turn_key", name="uq_proposals_conversation_turn"),
    CheckConstraint(_in("status", STATUSES), name="status"),
    CheckConstraint(_in("tier_required", TIERS), name="tier_required"),
    Index("ix_proposals_status_created", "status", "created_at"),
    Index("ix_proposals_situation", "situation"),
    Index("ix_proposals_customer_id", "customer_id"),
)

decisions = Table(
    "decisions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("proposal_id", Integer, ForeignKey("proposals.id"), nullable=False, index=True),
    Column("actor", String(128), nullable=False),
    Column("role", String(16), nullable=False),
    Column("decision", String(16), nullable=False),
    Column("tier", String(16), nullable=False),  # tier_required when the decision was taken
    Column("note", Text, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    CheckConstraint(_in("decision", DECISIONS), name="decision"),
)

reviews = Table(
    "reviews",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("proposal_id", Integer, ForeignKey("proposals.id"), nullable=False, index=True),
    Column("reviewer", String(128), nullable=False),
    Column("verdict", String(16), nullable=False),
    Column("note", Text, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    CheckConstraint(_in("verdict", VERDICTS), name="verdict"),
)

# A customer's photo, kept with the case (makegood.services.attachments): the file lives in a
# content-addressed store under its sha256; this row says which conversation sent it and, when a
# case was open in that conversation, which proposal. One row per photo per conversation.
attachments = Table(
    "attachments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("conversation_id", String(128), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("media_type", String(32), nullable=False),
    Column("size", Integer, nullable=False),
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    Column("proposal_public_id", String(16), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    UniqueConstraint("conversation_id", "sha256", name="uq_attachments_conversation_sha256"),
    CheckConstraint(_in("media_type", ATTACHMENT_TYPES), name="media_type"),
    Index("ix_attachments_sha256", "sha256"),
)

# Append-only hash chain. ids are assigned by the ledger (last id + 1 under the chain
# lock), never by a sequence: a rolled-back transaction must not leave a gap, because a
# gap is how verify() recognises a deleted event.
audit_events = Table(
    "audit_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("proposal_public_id", String(16), nullable=False, index=True),
    Column("payload", Text, nullable=False),
    Column("row_digest", String(64), nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False, unique=True),
)
