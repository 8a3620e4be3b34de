"""Cumulative limits: what one order and one customer may receive in total, over every case.

Per-proposal caps (limits.py) say how big one remedy may be; these say how often and how much
altogether. The engine applies them when it offers (so the menu is honest), and the decisions
service applies them again, atomically, when a remedy is actually granted — whoever grants it.

Defaults, for a remedy that says nothing: an order never gets back more money than it cost, and
a remedy is given at most once per order. The catalog can allow more (`per_order: 3`, or
`per_order: unlimited`), add a per-customer limit (`per_customer: {times: 2, days: 90}`), or take
a remedy out of the order total (`counts_toward_order_total: false`, e.g. a prepaid return label).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from makegood.money import cents, fmt
from makegood.policy.model import Catalog, Remedy

ORDER_TOTAL_RULE = "cumulative.order_total"


@dataclass(frozen=True)
class Grant:
    """A remedy given before: what, on which order, how much money, when."""

    remedy: str
    order_id: str | None
    amount: Decimal  # money given; 0 for days and plans
    granted_on: date


@dataclass(frozen=True)
class History:
    """The grants one customer has had, seen from the order of the case at hand."""

    order_id: str | None
    today: date
    grants: tuple[Grant, ...] = field(default=())

    def on_order(self) -> tuple[Grant, ...]:
        if self.order_id is None:
            return ()
        return tuple(g for g in self.grants if g.order_id == self.order_id)


@dataclass(frozen=True)
class Limit:
    """The verdict on giving `remedy` once more. `room`: money still allowed on the order
    (None when the order total does not bound this remedy)."""

    ok: bool
    rule: str
    reason: str
    room: Decimal | None = None


def order_room(catalog: Catalog, facts: Mapping[str, object], history: History) -> Decimal | None:
    """Money the order may still give back: what it cost, less what it has already given."""
    value = facts.get("order_value")
    if value is None or history.order_id is None:
        return None
    given = sum((g.amount for g in history.on_order() if _toward_total(catalog, g.remedy)), Decimal(0))
    return max(Decimal(0), cents(Decimal(str(value)) - given))


def limit_for(catalog: Catalog, remedy_name: str, facts: Mapping[str, object], history: History | None) -> Limit:
    """May this customer get `remedy_name` once more on this order (ignoring its size)?"""
    remedy = catalog.remedies[remedy_name]
    base = f"remedies.{remedy_name}"
    if history is None:
        return Limit(True, base, "no history to apply")
    times = sum(1 for g in history.on_order() if g.remedy == remedy_name)
    if remedy.per_order is not None and times >= remedy.per_order:
        return Limit(
            False,
            f"{base}.per_order",
            f"{_name(remedy)} was already given {_times(times)} on order {history.order_id}; "
            f"the limit is {_times(remedy.per_order)} per order",
        )
    if remedy.per_customer is not None:
        since = history.today - timedelta(days=remedy.per_customer.days)
        recent = sum(1 for g in history.grants if g.remedy == remedy_name and g.granted_on >= since)
        if recent >= remedy.per_customer.times:
            return Limit(
                False,
                f"{base}.per_customer",
                f"this customer already had {_name(remedy)} {_times(recent)} in "
                f"{remedy.per_customer.days} days; the limit is {_times(remedy.per_customer.times)}",
            )
    room = order_room(catalog, facts, history) if _toward_total(catalog, remedy_name) else None
    if room is not None and room <= 0:
        return Limit(False, ORDER_TOTAL_RULE, f"order {history.order_id} has already had back everything it cost", room)
    return Limit(True, base, "within the order's and the customer's limits", room)


def grant_allowed(
    catalog: Catalog, remedy_name: str, size: object, facts: Mapping[str, object], history: History | None
) -> Limit:
    """`limit_for`, and the size fits in what the order may still give back."""
    verdict = limit_for(catalog, remedy_name, facts, history)
    if not verdict.ok or verdict.room is None or catalog.remedies[remedy_name].kind != "money":
        return verdict
    if Decimal(str(size)) > verdict.room:
        return Limit(
            False,
            ORDER_TOTAL_RULE,
            f"{fmt(Decimal(str(size)))} would take order {history.order_id if history else ''} past what "
            f"it cost; at most {fmt(verdict.room)} more can be given on it",
            verdict.room,
        )
    return verdict


def _toward_total(catalog: Catalog, remedy_name: str) -> bool:
    remedy = catalog.remedies.get(remedy_name)
    return True if remedy is None else remedy.counts_toward_order_total


def _name(remedy: Remedy) -> str:
    return remedy.name.replace("_", " ")


def _times(n: int) -> str:
    return {1: "once", 2: "twice"}.get(n, f"{n} times")
