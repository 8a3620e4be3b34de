"""Attachments: the photos customers send in the chat, kept with the case.

Revision ID: 0006_attachments
Revises: 0005_live_conversations
Create Date: 2026-12-02

One row per photo per conversation (the Rasa sender id): the sha256 of the bytes kept (the
file's name in the content-addressed store, makegood.services.attachments), its media type,
size and dimensions, when it came and the proposal that was open in that conversation then.
Every row is vouched for by an `attachment_added` event in the audit chain.
Frozen on purpose: types spelled out, not imported from the application.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_attachments"
down_revision = "0005_live_conversations"
branch_labels = None
depends_on = None

MEDIA_TYPES = "media_type IN ('image/jpeg', 'image/png', 'image/webp')"


def upgrade() -> None:
    op.create_table(
        "attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(128), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("media_type", sa.String(32), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("proposal_public_id", sa.String(16), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_attachments"),
        sa.UniqueConstraint("conversation_id", "sha256", name="uq_attachments_conversation_sha256"),
        sa.CheckConstraint(MEDIA_TYPES, name="ck_attachments_media_type"),
    )
    op.create_index("ix_attachments_sha256", "attachments", ["sha256"])


def downgrade() -> None:
    op.drop_index("ix_attachments_sha256", table_name="attachments")
    op.drop_table("attachments")
