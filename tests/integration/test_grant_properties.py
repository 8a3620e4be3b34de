"""Property: no sequence of picks, asks and decisions by one customer ever takes an order or
the customer past a cumulative limit — per order (times, money back), per customer, per period."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from makegood.customers import InMemoryCustomerStore
from makegood.customers.store import period_start
from makegood.errors import CaseError, LimitReached
from makegood.ledger import Ledger, ProposalIn
from makegood.policy import Tier, load_catalog, options
from makegood.services.bootstrap import Services
from makegood.services.bot.case_facts import build_case

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
TODAY = date(2026, 11, 23)
CATALOG = load_catalog(ROOT / "policy")
ORDERS = ["MG-10422", "MG-10423", "MG-10421"]  # one customer (C-1001), three orders
SITUATIONS = {"MG-10422": "damaged_item", "MG-10423": "late_return", "MG-10421": "late_delivery"}
TIERS = [Tier.SELF_SERVICE, Tier.AGENT, Tier.PEER, Tier.SUPERVISOR, Tier.MANAGER]

move = st.tuples(
    st.sampled_from(["offer", "ask", "approve"]),
    st.sampled_from(ORDERS),
    st.integers(min_value=0, max_value=5),  # which offer, or which tier approves
    st.decimals(min_value=0, max_value=400, places=2),  # an asked amount
)


@pytest.fixture(scope="module")
def ledger(tmp_path_factory):
    ledger = Ledger.from_url(f"sqlite:///{tmp_path_factory.mktemp('grants') / 'ledger.db'}")  # migrated once
    yield ledger
    ledger.dispose()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(moves=st.lists(move, min_size=1, max_size=14))
def test_no_sequence_of_grants_exceeds_a_limit(ledger, moves):
    customers = InMemoryCustomerStore.demo(TODAY)  # a fresh customer history for every example
    ledger.on_grant = None
    Services(CATALOG, ledger, customers, today=lambda: TODAY)  # wires this example's grant guard
    run = uuid.uuid4().hex[:8]
    for n, (kind, order_id, which, asked) in enumerate(moves):
        situation = SITUATIONS[order_id]
        tier = TIERS[which % len(TIERS)] if kind == "approve" else Tier.SELF_SERVICE
        try:
            ctx = build_case(CATALOG, customers, situation, {"order_id": order_id}, TODAY)
        except CaseError:
            continue
        found = options(CATALOG, ctx.case, tier)
        if kind == "ask":
            chosen = {"remedy": "partial_refund", "size": str(asked), "rule": f"{situation}.partial_refund"}
        elif found.offers:
            o = found.offers[which % len(found.offers)]
            chosen = {"remedy": o.remedy, "size": str(o.size), "rule": o.rule}
        elif found.beyond:
            o = found.beyond[which % len(found.beyond)]
            chosen = {"remedy": o.remedy, "size": str(o.size), "rule": o.rule}
        else:
            continue
        try:
            ledger.log_proposal(
                ProposalIn(
                    conversation_id=f"c-{run}-{n}",
                    turn_key="t",
                    situation=situation,
                    policy_version=CATALOG.version,
                    tier_required=tier.value,
                    status="accepted",
                    requested_by="bot" if kind != "approve" else "sam",
                    channel="rest",
                    customer_id=ctx.customer_id,
                    order_id=order_id,
                    facts=ctx.case.as_json(),
                    option_chosen=chosen,
                )
            )
        except (LimitReached, CaseError):
            pass
    mine = [ledger.find(f"c-{run}-{n}", "t") for n in range(len(moves))]
    _assert_within_limits(customers, {p.public_id: p for p in mine if p is not None})


def _assert_within_limits(customers, proposals):
    grants = sorted((g for g in customers.exceptions_for("C-1001") if g.remedy), key=lambda g: g.proposal_id or "")
    per_order_money: Counter = Counter()
    per_order_remedy: Counter = Counter()
    for g in grants:
        order_value = customers.order(g.order_id).total
        remedy = CATALOG.remedies[g.remedy]
        per_order_remedy[(g.order_id, g.remedy)] += 1
        if remedy.counts_toward_order_total:
            per_order_money[g.order_id] += g.amount
        assert per_order_money[g.order_id] <= order_value, (g.order_id, per_order_money[g.order_id])
        if remedy.per_order is not None:
            assert per_order_remedy[(g.order_id, g.remedy)] <= remedy.per_order
        assert g.proposal_id in proposals and proposals[g.proposal_id].status == "accepted"
    # Per period: every counted grant was within the cap of the tier that granted it.
    history = [e for e in customers.exceptions_for("C-1001") if e.counts]
    since = period_start(TODAY, CATALOG.exception_period_days)
    demo = sum(1 for e in history if not e.remedy and e.granted_on >= since)
    counted = [g for g in grants if g.counts]
    for i, g in enumerate(sorted(counted, key=lambda g: proposals[g.proposal_id].created_at)):
        tier = Tier(proposals[g.proposal_id].tier_required)
        limit = CATALOG.tier_max_recent_exceptions.get(tier)
        rule = next(
            (r for r in CATALOG.situation(proposals[g.proposal_id].situation).remedies if r.remedy == g.remedy), None
        )
        cap = rule.caps.get(tier) if rule else None
        if cap is not None and cap.max_recent_exceptions is not None:
            limit = cap.max_recent_exceptions
        if limit is not None:
            assert demo + i < limit, (g, tier, demo + i, limit)
    assert all(isinstance(g.amount, Decimal) for g in grants)
