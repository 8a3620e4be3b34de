"""Initial schema: the proposal ledger and the customer store.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-23

Frozen on purpose: the types are spelled out here instead of imported from the
application, so later changes to the models never rewrite history.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None

STATUSES = "status IN ('offered', 'accepted', 'pending', 'approved', 'rejected')"
TIERS = "tier_required IN ('self_service', 'agent', 'peer', 'supervisor', 'manager')"
DECISIONS = "decision IN ('approve', 'cosign', 'reject', 'escalate')"
VERDICTS = "verdict IN ('upheld', 'overturned')"


def _json(nullable: bool = False):
    return sa.JSON(none_as_null=nullable).with_variant(postgresql.JSONB(none_as_null=nullable), "postgresql")


def _money():
    # PostgreSQL: NUMERIC(12,2). SQLite: integer cents (see makegood.db.Money).
    return sa.Numeric(12, 2).with_variant(sa.Integer(), "sqlite")


def _ts():
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "proposals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(16), nullable=False),
        sa.Column("conversation_id", sa.String(128), nullable=False),
        sa.Column("turn_key", sa.String(128), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("situation", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.String(32), nullable=True),
        sa.Column("order_id", sa.String(32), nullable=True),
        sa.Column("facts", _json(), nullable=False),
        sa.Column("options_offered", _json(), nullable=False),
        sa.Column("option_chosen", _json(True), nullable=True),
        sa.Column("customer_ask", _json(True), nullable=True),
        sa.Column("context", _json(), nullable=False),
        sa.Column("policy_version", sa.String(64), nullable=False),
        sa.Column("tier_required", sa.String(16), nullable=False),
        sa.Column("requested_by", sa.String(128), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("updated_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_proposals"),
        sa.UniqueConstraint("public_id", name="uq_proposals_public_id"),
        sa.UniqueConstraint("conversation_id", "turn_key", name="uq_proposals_conversation_turn"),
        sa.CheckConstraint(STATUSES, name="ck_proposals_status"),
        sa.CheckConstraint(TIERS, name="ck_proposals_tier_required"),
    )
    op.create_index("ix_proposals_status_created", "proposals", ["status", "created_at"])
    op.create_index("ix_proposals_situation", "proposals", ["situation"])
    op.create_index("ix_proposals_customer_id", "proposals", ["customer_id"])

    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("tier", sa.String(16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_decisions"),
        sa.ForeignKeyConstraint(["proposal_id"], ["proposals.id"], name="fk_decisions_proposal_id_proposals"),
        sa.CheckConstraint(DECISIONS, name="ck_decisions_decision"),
    )
    op.create_index("ix_decisions_proposal_id", "decisions", ["proposal_id"])

    op.create_table(
        "reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("reviewer", sa.String(128), nullable=False),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_reviews"),
        sa.ForeignKeyConstraint(["proposal_id"], ["proposals.id"], name="fk_reviews_proposal_id_proposals"),
        sa.CheckConstraint(VERDICTS, name="ck_reviews_verdict"),
    )
    op.create_index("ix_reviews_proposal_id", "reviews", ["proposal_id"])

    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("proposal_public_id", sa.String(16), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("row_digest", sa.String(64), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_events"),
        sa.UniqueConstraint("hash", name="uq_audit_events_hash"),
    )
    op.create_index("ix_audit_events_proposal_public_id", "audit_events", ["proposal_public_id"])

    op.create_table(
        "customers",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(200), nullable=False),
        sa.Column("membership", sa.String(16), nullable=False),
        sa.Column("joined_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_customers"),
    )

    op.create_table(
        "orders",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("customer_id", sa.String(32), nullable=False),
        sa.Column("placed_on", sa.Date(), nullable=False),
        sa.Column("promised_on", sa.Date(), nullable=False),
        sa.Column("delivered_on", sa.Date(), nullable=True),
        sa.Column("total", _money(), nullable=False),
        sa.Column("items", sa.Text(), nullable=False),
        sa.Column("is_subscription", sa.Boolean(), nullable=False),
        sa.Column("monthly_fee", _money(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_orders"),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name="fk_orders_customer_id_customers"),
    )
    op.create_index("ix_orders_customer_id", "orders", ["customer_id"])

    op.create_table(
        "exception_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.String(32), nullable=False),
        sa.Column("order_id", sa.String(32), nullable=True),
        sa.Column("situation", sa.String(64), nullable=False),
        sa.Column("amount", _money(), nullable=False),
        sa.Column("granted_on", sa.Date(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_exception_history"),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name="fk_exception_history_customer_id_customers"),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name="fk_exception_history_order_id_orders"),
    )
    op.create_index("ix_exception_history_customer_id", "exception_history", ["customer_id"])


def downgrade() -> None:
    for index, table in [
        ("ix_exception_history_customer_id", "exception_history"),
        ("ix_orders_customer_id", "orders"),
        ("ix_audit_events_proposal_public_id", "audit_events"),
        ("ix_reviews_proposal_id", "reviews"),
        ("ix_decisions_proposal_id", "decisions"),
        ("ix_proposals_customer_id", "proposals"),
        ("ix_proposals_situation", "proposals"),
        ("ix_proposals_status_created", "proposals"),
    ]:
        op.drop_index(index, table_name=table)
    for table in ("exception_history", "orders", "customers", "audit_events", "reviews", "decisions", "proposals"):
        op.drop_table(table)
