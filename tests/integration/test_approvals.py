"""A human approval that grants an exception counts towards the customer's history."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from makegood.customers import SqlCustomerStore, seed_demo
from makegood.ledger import Ledger, ProposalIn
from makegood.policy import load_catalog
from makegood.services import decisions
from makegood.services.bootstrap import Services

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
TODAY = date(2026, 11, 23)


@pytest.fixture
def services(tmp_path):
    ledger = Ledger.from_url(f"sqlite:///{tmp_path / 'a.db'}")
    customers = SqlCustomerStore(ledger.engine)
    seed_demo(customers, TODAY)
    yield Services(load_catalog(ROOT / "policy"), ledger, customers, today=lambda: TODAY)
    ledger.dispose()


def pending(services, situation, remedy, size, tier="peer"):
    return services.ledger.log_proposal(
        ProposalIn(
            conversation_id=f"c-{situation}",
            turn_key="handoff:2",
            situation=situation,
            policy_version="t",
            tier_required=tier,
            status="pending",
            requested_by="bot",
            customer_id="C-1001",
            order_id="MG-10422",
            option_chosen={"remedy": remedy, "size": size},
        )
    )


def recent(services) -> int:
    return services.customers.known_facts("C-1001", None, today=TODAY, period_days=90)["recent_exceptions"]


def test_a_peer_approved_exception_is_recorded_once_it_is_approved(services):
    p = pending(services, "damaged_item", "partial_refund", "60.00")
    before = recent(services)
    decisions.decide(services, p.public_id, actor="alice", role="agent", decision="approve")
    assert recent(services) == before  # one agent is not yet a peer decision
    done = decisions.decide(services, p.public_id, actor="bob", role="agent", decision="cosign")
    assert done.status == "approved" and recent(services) == before + 1


def test_correcting_our_own_error_does_not_count_against_the_customer(services):
    p = pending(services, "billing_error", "full_refund", "300.00", tier="supervisor")
    before = recent(services)
    done = decisions.decide(services, p.public_id, actor="sam", role="supervisor", decision="approve")
    assert done.status == "approved" and recent(services) == before


def test_a_rejection_records_nothing(services):
    p = pending(services, "damaged_item", "partial_refund", "60.00", tier="agent")
    before = recent(services)
    decisions.decide(services, p.public_id, actor="alice", role="agent", decision="reject", note="photos show wear")
    assert recent(services) == before
