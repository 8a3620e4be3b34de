"""`makegood ledger decide` goes through the decisions service: an approval from the CLI counts
in the customer's history, and one over a cumulative limit is refused naming it."""

from __future__ import annotations

from datetime import date

import pytest

from makegood.customers import SqlCustomerStore, seed_demo
from makegood.ledger import ProposalIn
from tests.integration.test_cli_identity import World, one_error_line, run

pytestmark = pytest.mark.integration


@pytest.fixture
def world(backend_url, monkeypatch):
    monkeypatch.setenv("MAKEGOOD_DATABASE_URL", backend_url)
    monkeypatch.delenv("MAKEGOOD_TOKEN", raising=False)
    w = World(backend_url)
    w.customers = SqlCustomerStore(w.engine)
    seed_demo(w.customers, date.today())
    yield w
    w.engine.dispose()


def handoff(world, n, size):
    return world.ledger.log_proposal(
        ProposalIn(
            conversation_id=f"cli-grant-{n}",
            turn_key="1",
            situation="damaged_item",
            policy_version="v1",
            tier_required="supervisor",
            requested_by="bot",
            status="pending",
            channel="rest",
            customer_id="C-1001",
            order_id="MG-10422",
            facts={"order_value": "129.00"},
            option_chosen={"remedy": "partial_refund", "size": size, "rule": "damaged_item.partial_refund"},
        )
    )


def recent(world) -> int:
    return world.customers.known_facts("C-1001", None, today=date.today(), period_days=90)["recent_exceptions"]


def test_a_cli_approval_counts_and_a_second_one_on_the_order_is_refused(world, capsys):
    before = recent(world)
    first = handoff(world, 1, "60.00")
    code, _, err = run(
        ["ledger", "decide", first.public_id, "--token", world.tokens["sam"], "--decision", "approve"], capsys
    )
    assert code == 0, err
    assert world.ledger.get(first.public_id).status == "approved"
    assert recent(world) == before + 1  # found: CLI approvals bypassed the customer's history
    second = handoff(world, 2, "30.00")
    code, _, err = run(
        ["ledger", "decide", second.public_id, "--token", world.tokens["sam"], "--decision", "approve"], capsys
    )
    assert code == 2 and "once per order" in one_error_line(err)
    assert world.ledger.get(second.public_id).status == "pending"
    assert recent(world) == before + 1
