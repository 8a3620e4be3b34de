"""Cumulative limits where the money moves: every path that grants (a bot pick, a copilot log,
a desk or CLI decision) goes through the ledger's grant guard, in the acceptance's own
transaction, on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path

import pytest

from makegood.customers import SqlCustomerStore, seed_demo
from makegood.errors import LimitReached
from makegood.ledger import Ledger, ProposalIn
from makegood.policy import load_catalog
from makegood.services.bootstrap import Services

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
TODAY = date(2026, 11, 23)


@pytest.fixture
def services(engine):
    customers = SqlCustomerStore(engine)
    seed_demo(customers, TODAY)
    return Services(load_catalog(ROOT / "policy"), Ledger(engine), customers, today=lambda: TODAY)


def offered(services, n, remedy="partial_refund", size="25.00", order_id="MG-10422", customer_id="C-1001"):
    return services.ledger.log_proposal(
        ProposalIn(
            conversation_id=f"race-{n}",
            turn_key="propose:1",
            situation="damaged_item",
            policy_version="t",
            tier_required="self_service",
            status="offered",
            requested_by="bot",
            customer_id=customer_id,
            order_id=order_id,
            facts={"order_value": "129.00"},
            context={"menu": [{"remedy": remedy, "size": size, "rule": f"damaged_item.{remedy}"}]},
        )
    )


def pick(services, proposal, remedy="partial_refund", size="25.00"):
    return services.ledger.update_proposal(
        proposal.public_id,
        status="accepted",
        option_chosen={"remedy": remedy, "size": size, "rule": f"damaged_item.{remedy}"},
    )


def grants(services, order_id="MG-10422"):
    return [e for e in services.customers.exceptions_for("C-1001") if e.order_id == order_id and e.remedy]


def test_a_second_grant_of_one_remedy_on_one_order_is_refused_and_nothing_is_written(services):
    first, second = offered(services, 1), offered(services, 2)
    pick(services, first)
    with pytest.raises(LimitReached, match="once per order") as refused:
        pick(services, second)
    assert refused.value.rule == "remedies.partial_refund.per_order"
    assert services.ledger.get(second.public_id).status == "offered"  # the acceptance rolled back too
    assert len(grants(services)) == 1
    assert services.ledger.verify().ok


def test_an_order_never_gets_back_more_than_it_cost(services):
    pick(services, offered(services, 1, "partial_refund", "100.00"), "partial_refund", "100.00")
    with pytest.raises(LimitReached, match="past what it cost"):
        pick(services, offered(services, 2, "store_credit", "30.00"), "store_credit", "30.00")
    pick(services, offered(services, 3, "store_credit", "29.00"), "store_credit", "29.00")
    assert sum(e.amount for e in grants(services)) == 129


def test_a_human_approval_over_a_limit_is_refused_naming_it(services):
    pick(services, offered(services, 1, "full_refund", "129.00"), "full_refund", "129.00")
    request = services.ledger.log_proposal(
        ProposalIn(
            conversation_id="agent-1",
            turn_key="copilot:1",
            situation="damaged_item",
            policy_version="t",
            tier_required="supervisor",
            status="pending",
            requested_by="alice",
            customer_id="C-1001",
            order_id="MG-10422",
            facts={"order_value": "129.00"},
            option_chosen={"remedy": "partial_refund", "size": "50.00", "rule": "damaged_item.partial_refund"},
        )
    )
    with pytest.raises(LimitReached, match="already had back everything"):
        services.ledger.decide(request.public_id, actor="sam", role="supervisor", decision="approve")
    assert services.ledger.get(request.public_id).status == "pending"


def test_two_racing_picks_of_one_remedy_on_one_order_grant_once(services):
    """Found: nothing stopped two acceptances of the same remedy at the same moment."""
    candidates = [offered(services, n) for n in range(8)]
    barrier = threading.Barrier(len(candidates))
    outcomes: list[str] = []
    lock = threading.Lock()

    def race(proposal):
        barrier.wait()
        try:
            pick(services, proposal)
            result = "granted"
        except LimitReached:
            result = "refused"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=race, args=(p,)) for p in candidates]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(outcomes) == ["granted"] + ["refused"] * (len(candidates) - 1)
    assert len(grants(services)) == 1
    accepted = [p for p in services.ledger.list(limit=20) if p.status == "accepted"]
    assert len(accepted) == 1
    assert services.ledger.verify().ok
