"""Grants: every remedy actually given, so cumulative limits can be enforced.

Revision ID: 0003_grants
Revises: 0002_accounts
Create Date: 2026-12-01

`exception_history` becomes the record of every grant, not only of the ones that count as
exceptions: the per-order and per-customer limits need refunds that do not count as
exceptions too. `counts` says whether a row counts towards recent_exceptions; `remedy`,
`kind` and `proposal_id` say what was given and under which proposal (one grant per
proposal, enforced by a unique index, so a retried acceptance can never grant twice).
Frozen on purpose: types spelled out, not imported from the application.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_grants"
down_revision = "0002_accounts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (SQLite has it): batch mode would copy the table, which is slower and
    # leaves a temporary table behind if two processes migrate at once.
    op.add_column("exception_history", sa.Column("remedy", sa.String(64), nullable=True))
    op.add_column("exception_history", sa.Column("kind", sa.String(8), nullable=True))
    op.add_column("exception_history", sa.Column("proposal_id", sa.String(16), nullable=True))
    op.add_column("exception_history", sa.Column("counts", sa.Boolean(), nullable=False, server_default=sa.true()))
    op.create_index("uq_exception_history_proposal", "exception_history", ["proposal_id"], unique=True)
    op.create_index("ix_exception_history_order", "exception_history", ["order_id"])


def downgrade() -> None:
    op.drop_index("ix_exception_history_order", table_name="exception_history")
    op.drop_index("uq_exception_history_proposal", table_name="exception_history")
    with op.batch_alter_table("exception_history") as batch:
        batch.drop_column("counts")
        batch.drop_column("proposal_id")
        batch.drop_column("kind")
        batch.drop_column("remedy")
