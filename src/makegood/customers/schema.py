"""The customer store's tables (SQLAlchemy Core); created by the Alembic migration."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Date, ForeignKey, Index, Integer, String, Table, Text, true

from makegood.db import Money, metadata

customers = Table(
    "customers",
    metadata,
    Column("id", String(32), primary_key=True),  # C-1001
    Column("name", String(200), nullable=False),
    Column("email", String(200), nullable=False),
    Column("membership", String(16), nullable=False),
    Column("joined_on", Date, nullable=False),
)

orders = Table(
    "orders",
    metadata,
    Column("id", String(32), primary_key=True),  # MG-10421
    Column("customer_id", String(32), ForeignKey("customers.id"), nullable=False, index=True),
    Column("placed_on", Date, nullable=False),
    Column("promised_on", Date, nullable=False),
    Column("delivered_on", Date, nullable=True),
    Column("total", Money(), nullable=False),
    Column("items", Text, nullable=False),
    Column("is_subscription", Boolean, nullable=False),
    Column("monthly_fee", Money(), nullable=True),
)

exception_history = Table(
    "exception_history",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("customer_id", String(32), ForeignKey("customers.id"), nullable=False, index=True),
    Column("order_id", String(32), ForeignKey("orders.id"), nullable=True),
    Column("situation", String(64), nullable=False),
    Column("amount", Money(), nullable=False),
    Column("granted_on", Date, nullable=False),
    # "granted": recorded when a remedy was given; "demo": written by seed_demo (re-seeding replaces those).
    Column("source", String(16), nullable=False),
    # Every grant is a row (cumulative limits); `counts` says whether it is an exception.
    Column("remedy", String(64), nullable=True),
    Column("kind", String(8), nullable=True),
    Column("proposal_id", String(16), nullable=True),
    Column("counts", Boolean, nullable=False, server_default=true()),
    # One grant per proposal: a retried acceptance can never grant twice.
    Index("uq_exception_history_proposal", "proposal_id", unique=True),
    Index("ix_exception_history_order", "order_id"),
)
