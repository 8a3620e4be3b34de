"""Sign-in security: throttling state and an audit of failed sign-ins.

Revision ID: 0004_signin_security
Revises: 0003_grants
Create Date: 2026-12-01

`signin_throttle` holds one row per throttled key ("account:NAME" or "address:ADDR"): the
failures counted in the current window and, once locked, until when. It lives in the database
so every desk process (and every host) sees the same counters. `signin_failures` is the audit
of failed sign-ins: who (the name typed, when it is a valid user name), from which address,
when, and why (wrong password, unknown user, inactive account).
Frozen on purpose, like 0001: types spelled out, not imported from the application.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_signin_security"
down_revision = "0003_grants"
branch_labels = None
depends_on = None

REASONS = "reason IN ('password', 'unknown', 'inactive')"


def _ts():
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "signin_throttle",
        sa.Column("key", sa.String(120), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", _ts(), nullable=True),
        sa.Column("locked_until", _ts(), nullable=True),
        sa.PrimaryKeyConstraint("key", name="pk_signin_throttle"),
    )
    op.create_table(
        "signin_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("user_name", sa.String(40), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_signin_failures"),
        sa.CheckConstraint(REASONS, name="ck_signin_failures_reason"),
    )
    op.create_index("ix_signin_failures_created_at", "signin_failures", ["created_at"])
    op.create_index("ix_signin_failures_user_name", "signin_failures", ["user_name"])
    op.create_index("ix_signin_failures_address", "signin_failures", ["address"])


def downgrade() -> None:
    op.drop_index("ix_signin_failures_address", table_name="signin_failures")
    op.drop_index("ix_signin_failures_user_name", table_name="signin_failures")
    op.drop_index("ix_signin_failures_created_at", table_name="signin_failures")
    op.drop_table("signin_failures")
    op.drop_table("signin_throttle")
