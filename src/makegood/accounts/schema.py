"""The accounts tables (SQLAlchemy Core). Created by the Alembic migration
`0002_accounts` (and the sign-in tables by `0004_signin_security`); `tests/integration/test_db.py`
checks the two agree.

Only hashes of bearer secrets are stored: sha256 of API tokens and of session ids.
The CSRF token is stored as is: it is only ever checked alongside its session.
"""

from __future__ import annotations

from sqlalchemy import Boolean, CheckConstraint, Column, ForeignKey, Index, Integer, String, Table, Text

from makegood.db import UTCDateTime, metadata

ROLES = ("agent", "supervisor", "reviewer", "admin")
NAME_LENGTH = 40


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


users = Table(
    "users",
    metadata,
    Column("name", String(NAME_LENGTH), primary_key=True),
    Column("role", String(16), nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    CheckConstraint(_in("role", ROLES), name="role"),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_name", String(NAME_LENGTH), ForeignKey("users.name"), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("last_used_at", UTCDateTime(), nullable=True),
    Index("ix_api_tokens_user_name", "user_name"),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("user_name", String(NAME_LENGTH), ForeignKey("users.name"), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Index("ix_sessions_user_name", "user_name"),
    Index("ix_sessions_expires_at", "expires_at"),
)

# Sign-in throttling (migration 0004_signin_security). One row per key: "account:NAME" or
# "address:ADDR" (an IPv6 address is keyed by its /64). In the database, so every process agrees.
signin_throttle = Table(
    "signin_throttle",
    metadata,
    Column("key", String(120), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("last_failure_at", UTCDateTime(), nullable=True),
    Column("locked_until", UTCDateTime(), nullable=True),
)

SIGNIN_FAILURE_REASONS = ("password", "unknown", "inactive")

# The audit of failed sign-ins: who (the name typed, when it is a valid user name), from where, when.
signin_failures = Table(
    "signin_failures",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("user_name", String(NAME_LENGTH), nullable=False),
    Column("address", String(64), nullable=False),
    Column("reason", String(16), nullable=False),
    CheckConstraint(_in("reason", SIGNIN_FAILURE_REASONS), name="reason"),
    Index("ix_signin_failures_created_at", "created_at"),
    Index("ix_signin_failures_user_name", "user_name"),
    Index("ix_signin_failures_address", "address"),
)
