"""Ratings: the customer's 1-5 for a closed chat, and whether it reopened the case.

Revision ID: 0007_ratings
Revises: 0006_attachments
Create Date: 2026-12-02

One rating per closed case of a conversation (the Rasa sender id); `reopened` says it went
back to a person (rated 2 or less, or a comment that reports a problem still open).
Frozen on purpose: types spelled out, not imported from the application.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_ratings"
down_revision = "0006_attachments"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(128), nullable=False),
        sa.Column("proposal_id", sa.String(16), nullable=True),
        sa.Column("situation", sa.String(64), nullable=True),
        sa.Column("customer_id", sa.String(32), nullable=True),
        sa.Column("stars", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("reopened", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ratings"),
        sa.CheckConstraint("stars BETWEEN 1 AND 5", name="ck_ratings_stars"),
    )
    op.create_index("ix_ratings_conversation", "ratings", ["conversation_id"])
    op.create_index("uq_ratings_case", "ratings", ["conversation_id", "proposal_id"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_ratings_case", table_name="ratings")
    op.drop_index("ix_ratings_conversation", table_name="ratings")
    op.drop_table("ratings")
