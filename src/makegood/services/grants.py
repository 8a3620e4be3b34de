"""Where the money moves: every remedy that is actually given passes through `GrantGuard`.

The ledger calls the guard inside the very transaction that marks a proposal accepted (the
bot's menu pick or fair ask, a copilot log) or approved (a desk or CLI decision). The guard
serialises grants per customer, re-reads the customer's history inside that transaction,
applies the cumulative limits (policy/cumulative.py) and the exceptions-per-period cap of the
tier that grants, and records the grant. If anything is over a limit it raises
`LimitReached` and the whole transaction — the acceptance included — rolls back, so two racing
picks can never both pass and nothing is recorded as given that was not.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from makegood.customers.store import period_start
from makegood.errors import CaseError, LimitReached
from makegood.policy import Catalog, Tier
from makegood.policy.cumulative import Grant, History, grant_allowed
from makegood.policy.limits import frequency_check
from makegood.policy.model import Cap, RemedyRule


def history_of(records: Any, order_id: str | None, today: date) -> History:
    """The engine's view of a customer's grants (store rows → policy types)."""
    grants = tuple(
        Grant(
            remedy=r.remedy,
            order_id=r.order_id,
            amount=Decimal(r.amount) if r.kind in (None, "money") and r.remedy else Decimal(0),
            granted_on=r.granted_on,
        )
        for r in records
        if r.remedy
    )
    return History(order_id=order_id, today=today, grants=grants)


class GrantGuard:
    def __init__(self, catalog: Catalog, customers: Any, today: Callable[[], date]):
        self.catalog = catalog
        self.customers = customers
        self.today = today

    def __call__(self, session: Any, proposal: Mapping[str, Any]) -> None:
        chosen = proposal.get("option_chosen") or {}
        remedy = chosen.get("remedy")
        customer_id = proposal.get("customer_id")
        if not remedy or not customer_id or remedy not in self.catalog.remedies:
            return  # nothing a customer could be given twice: no remedy, or nobody to give it to
        order_id = proposal.get("order_id")
        today = self.today()
        self.customers.lock_customer(customer_id, session=session)
        records = self.customers.grants_for(customer_id, session=session)
        history = history_of(records, order_id, today)
        facts = dict(proposal.get("facts") or {})
        rule = self._rule(proposal.get("situation"), chosen)
        kind = self.catalog.remedies[remedy].kind
        size = _size(chosen, kind)
        verdict = grant_allowed(self.catalog, remedy, size, facts, history)
        if not verdict.ok:
            raise LimitReached(verdict.reason, verdict.rule)
        counts = bool(rule.counts_as_exception) if rule is not None else True
        if counts and rule is not None:
            tier = Tier(proposal.get("tier_required") or Tier.SELF_SERVICE.value)
            since = period_start(today, self.catalog.exception_period_days)
            recent = sum(1 for r in records if r.counts and since <= r.granted_on <= today)
            cap = rule.caps.get(tier) or Cap()
            over = frequency_check(self.catalog, rule, tier, cap, {**facts, "recent_exceptions": recent})
            if over is not None:
                raise LimitReached(over.reason, over.cap_rule)
        try:
            self.customers.record_exception(
                customer_id,
                order_id,
                proposal.get("situation") or "unknown",
                size if kind == "money" else 0,
                today,
                remedy=remedy,
                kind=kind,
                proposal_id=proposal.get("public_id"),
                counts=counts,
                session=session,
            )
        except CaseError as refused:  # e.g. the order is not this customer's
            raise LimitReached(str(refused), "grants.owner") from None

    def _rule(self, situation: str | None, chosen: Mapping[str, Any]) -> RemedyRule | None:
        try:
            rules = self.catalog.situation(situation or "").remedies
        except CaseError:
            return None  # a situation no longer in the catalog: only the cumulative limits apply
        return next((r for r in rules if r.id == chosen.get("rule")), None) or next(
            (r for r in rules if r.remedy == chosen.get("remedy")), None
        )


def _size(chosen: Mapping[str, Any], kind: str) -> Decimal:
    try:
        return Decimal(str(chosen.get("size") or 0)) if kind == "money" else Decimal(0)
    except ArithmeticError:
        raise LimitReached(f"the chosen size {chosen.get('size')!r} is not an amount", "grants.size") from None
