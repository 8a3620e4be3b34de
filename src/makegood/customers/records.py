"""The customer store's records: customers, orders and the exception history, as plain values.

Their own module so that the demo data (`demo`) and the stores (`store`) both build on them
without importing each other the wrong way: `records` <- `demo` <- `store`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

MEMBERSHIPS = ("standard", "silver", "gold", "platinum")
GRANTED = "granted"  # exception_history.source for remedies actually granted
DEMO = "demo"  # rows written by seed_demo


@dataclass(frozen=True)
class Customer:
    id: str  # C-1001
    name: str
    email: str
    membership: str  # standard | silver | gold | platinum
    joined_on: date


@dataclass(frozen=True)
class Order:
    id: str  # MG-10421
    customer_id: str
    placed_on: date
    promised_on: date
    delivered_on: date | None
    total: Decimal
    items: str
    is_subscription: bool = False
    monthly_fee: Decimal | None = None


@dataclass(frozen=True)
class ExceptionRecord:
    customer_id: str
    order_id: str | None
    situation: str
    amount: Decimal
    granted_on: date
    source: str = GRANTED
    remedy: str | None = None  # None on demo history rows
    kind: str | None = None
    proposal_id: str | None = None  # the proposal that granted it: one grant per proposal
    counts: bool = True  # counts towards recent_exceptions
