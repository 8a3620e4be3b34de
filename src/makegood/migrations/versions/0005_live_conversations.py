"""Live conversations: handed-over chats a person picks up, and what the agents wrote in them.

Revision ID: 0005_live_conversations
Revises: 0004_signin_security
Create Date: 2026-12-02

`live_conversations` holds one row per Rasa conversation (sender id) that the bot handed over:
waiting for a person, claimed by exactly one agent (`owner`), or released back to the bot. A
claim is a conditional UPDATE on `state`, so racing claims have one winner on every database.
`live_messages` holds what was pushed into the conversation from the desk (an agent's replies,
the intro on claim, the bot's line on release), in id order, so the customer's chat page can
be pushed every message after the last one it saw, from any desk process.
Frozen on purpose, like 0001: types spelled out, not imported from the application.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_live_conversations"
down_revision = "0004_signin_security"
branch_labels = None
depends_on = None

STATES = "state IN ('waiting', 'claimed', 'released')"
KINDS = "kind IN ('agent', 'bot')"


def _ts():
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "live_conversations",
        sa.Column("conversation_id", sa.String(128), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("customer_id", sa.String(32), nullable=True),
        sa.Column("handoff_proposal_id", sa.String(16), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(40), nullable=True),
        sa.Column("handovers", sa.Integer(), nullable=False),
        sa.Column("handed_over_at", _ts(), nullable=False),
        sa.Column("claimed_at", _ts(), nullable=True),
        sa.Column("released_at", _ts(), nullable=True),
        sa.Column("updated_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("conversation_id", name="pk_live_conversations"),
        sa.CheckConstraint(STATES, name="ck_live_conversations_state"),
    )
    op.create_index("ix_live_conversations_state", "live_conversations", ["state", "handed_over_at"])
    op.create_index("ix_live_conversations_owner", "live_conversations", ["owner"])
    op.create_table(
        "live_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("author", sa.String(40), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_live_messages"),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["live_conversations.conversation_id"],
            name="fk_live_messages_conversation_id_live_conversations",
        ),
        sa.CheckConstraint(KINDS, name="ck_live_messages_kind"),
    )
    op.create_index("ix_live_messages_conversation_id", "live_messages", ["conversation_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_live_messages_conversation_id", table_name="live_messages")
    op.drop_table("live_messages")
    op.drop_index("ix_live_conversations_owner", table_name="live_conversations")
    op.drop_index("ix_live_conversations_state", table_name="live_conversations")
    op.drop_table("live_conversations")
