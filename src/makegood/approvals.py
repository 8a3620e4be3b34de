"""A human decision on a proposal, and its consequence for the customer's history.

When a decision approves a remedy that counts as an exception (catalog
`counts_as_exception`), it is recorded in the customer store, so the next case sees it in
`recent_exceptions`, the same as remedies the bot or an agent grant on the spot.
"""

from __future__ import annotations

from typing import Optional

from makegood.assistant.services import Services


def decide(services: Services, public_id: str, *, actor: str, role: str, decision: str, note: str = "",
           expected_version: Optional[int] = None):
    before = services.ledger.get(public_id)
    after = services.ledger.decide(public_id, actor=actor, role=role, decision=decision, note=note,
                                   expected_version=expected_version)
    if before.status != "approved" and after.status == "approved" and _counts(services, after):
        chosen = after.option_chosen or {}
        services.customers.record_exception(after.customer_id, after.order_id, after.situation,
                                            chosen.get("size") or "0", services.today())
    return after


def _counts(services: Services, proposal) -> bool:
    chosen = proposal.option_chosen or {}
    if not proposal.customer_id or not chosen.get("remedy"):
        return False
    try:
        rules = services.catalog.situation(proposal.situation).remedies
    except Exception:  # noqa: BLE001 - a situation no longer in the catalog: nothing to count against
        return False
    rule = next((r for r in rules if r.id == chosen.get("rule")), None) or \
        next((r for r in rules if r.remedy == chosen.get("remedy")), None)
    return bool(rule and rule.counts_as_exception)
