"""Logging proposals: idempotent per conversation turn, validated, readable back as plain data."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from decimal import Decimal

import pytest

from makegood.errors import DecisionConflict, LedgerError
from makegood.ledger import Proposal, ProposalIn
from makegood.policy.tiers import Tier

pytestmark = pytest.mark.integration


def _in(**overrides) -> ProposalIn:
    values = dict(
        conversation_id="conv-1",
        turn_key="turn-3",
        situation="damaged_item",
        policy_version="abc123",
        tier_required=Tier.PEER,
        status="pending",
        channel="socketio",
        facts={"order_value": Decimal("80.00"), "days_since_delivery": 3, "membership": "gold"},
        options_offered=[{"remedy": "replacement", "size": Decimal("80")}],
        option_chosen={"remedy": "full_refund", "size": Decimal("80.00")},
        customer_ask={"amount": Decimal("80.00")},
        context={"declined": ["store_credit"]},
        customer_id="C-1001",
        order_id="MG-10422",
    )
    values.update(overrides)
    return ProposalIn(**values)


def test_logging_stores_plain_json_and_returns_a_dataclass(ledger):
    p = ledger.log_proposal(_in())
    assert isinstance(p, Proposal) and p.created
    assert re.fullmatch(r"P-[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{6}", p.public_id)
    assert p.facts == {"order_value": "80.00", "days_since_delivery": 3, "membership": "gold"}
    assert p.options_offered == [{"remedy": "replacement", "size": "80"}]
    assert p.option_chosen == {"remedy": "full_refund", "size": "80.00"}
    assert p.tier_required == "peer" and p.tier is Tier.PEER
    assert (p.status, p.version, p.channel, p.requested_by) == ("pending", 1, "socketio", "bot")
    assert p.created_at.tzinfo is not None and p.created_at.utcoffset().total_seconds() == 0
    assert ledger.get(p.public_id) == p
    assert ledger.get(p.public_id).created is False


def test_logging_the_same_turn_twice_returns_the_stored_proposal_unchanged(ledger):
    first = ledger.log_proposal(_in())
    again = ledger.log_proposal(_in(situation="late_delivery", tier_required="manager", facts={"x": 1}))
    assert again.created is False
    assert again == first  # `created` does not take part in equality
    assert again.situation == "damaged_item" and again.tier_required == "peer"
    assert ledger.count() == 1
    assert ledger.verify().checked == 1  # one audit event, not two
    other_turn = ledger.log_proposal(_in(turn_key="turn-4"))
    assert other_turn.created and other_turn.public_id != first.public_id


def test_concurrent_logging_of_one_turn_stores_it_once(ledger):
    barrier = threading.Barrier(4)
    results: list[Proposal] = []

    def log():
        barrier.wait()
        results.append(ledger.log_proposal(_in()))

    threads = [threading.Thread(target=log) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len({p.public_id for p in results}) == 1
    assert sum(p.created for p in results) == 1
    assert ledger.count() == 1 and ledger.verify().ok


def test_engine_options_as_dataclasses_are_stored_as_dicts(ledger):
    @dataclass(frozen=True)
    class Option:
        remedy: str
        size: Decimal
        required_tier: Tier

    p = ledger.log_proposal(_in(options_offered=(Option("store_credit", Decimal("32.00"), Tier.AGENT),)))
    assert p.options_offered == [{"remedy": "store_credit", "size": "32.00", "required_tier": "agent"}]


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"situation": "  "}, "needs a situation"),
        ({"tier_required": "boss"}, "unknown authority tier 'boss'"),
        ({"status": "approved"}, "approved and rejected come from decisions"),
        ({"status": "accepted", "option_chosen": None}, "needs the option the customer chose"),
        ({"facts": {"when": object()}}, "facts.when holds a object"),
        ({"facts": {"hours": float("nan")}}, "facts.hours holds nan"),
        ({"facts": {1: "x"}}, "only text keys"),
        ({"conversation_id": ""}, "needs a conversation id"),
        ({"turn_key": None}, "needs a turn key"),
    ],
)
def test_invalid_proposals_are_refused_with_a_reason(ledger, overrides, message):
    with pytest.raises(LedgerError, match=re.escape(message)):
        ledger.log_proposal(_in(**overrides))
    assert ledger.count() == 0


def test_unknown_public_id(ledger):
    with pytest.raises(LedgerError, match=r"^no proposal P-XXXX$"):
        ledger.get("P-XXXX")


def test_public_ids_are_forgiving_about_case_and_prefix(ledger):
    p = ledger.log_proposal(_in())
    assert ledger.get(p.public_id.lower()).public_id == p.public_id
    assert ledger.get(p.public_id[2:]).public_id == p.public_id


def test_list_filters_and_orders_newest_first(ledger, proposals):
    a = proposals.make(tier="agent", situation="late_delivery")
    b = proposals.make(tier="peer", situation="damaged_item")
    c = proposals.make(tier="peer", situation="damaged_item", status="offered")
    assert [p.public_id for p in ledger.list()] == [c.public_id, b.public_id, a.public_id]
    assert [p.public_id for p in ledger.list(status="pending")] == [b.public_id, a.public_id]
    assert [p.public_id for p in ledger.list(situation="late_delivery")] == [a.public_id]
    assert [p.public_id for p in ledger.list(conversation_id=b.conversation_id)] == [b.public_id]
    assert len(ledger.list(limit=2)) == 2
    assert ledger.counts() == {"pending": 2, "offered": 1, "total": 3}


def test_update_the_offer_the_customer_accepts(ledger, proposals):
    p = proposals.make(status="offered", tier="self_service")
    accepted = ledger.update_proposal(
        p.public_id, option_chosen={"remedy": "store_credit", "size": Decimal("32")}, status="accepted"
    )
    assert (accepted.status, accepted.option_chosen, accepted.version) == (
        "accepted",
        {"remedy": "store_credit", "size": "32"},
        2,
    )
    with pytest.raises(LedgerError, match="is accepted: its status can no longer be changed"):
        ledger.update_proposal(p.public_id, status="pending")
    with pytest.raises(LedgerError, match="is accepted: its option chosen can no longer change"):
        ledger.update_proposal(p.public_id, option_chosen={"remedy": "full_refund"})
    assert ledger.verify().ok


def test_update_hands_off_and_patches_context(ledger, proposals):
    p = proposals.make(status="offered", tier="self_service", context={"transcript": ["hi"]})
    pending = ledger.update_proposal(
        p.public_id,
        status="pending",
        tier_required="peer",
        customer_ask={"amount": "60.00"},
        context_patch={"handoff": "agent"},
    )
    assert (pending.status, pending.tier_required) == ("pending", "peer")
    assert pending.context == {"transcript": ["hi"], "handoff": "agent"}
    later = ledger.update_proposal(p.public_id, context_patch={"rules_cited": ["damaged_item.full_refund"]})
    assert later.context["handoff"] == "agent" and later.version == 3
    with pytest.raises(LedgerError, match="can only change by escalation"):
        ledger.update_proposal(p.public_id, tier_required="agent")
    with pytest.raises(LedgerError, match="approved and rejected come from decisions"):
        ledger.update_proposal(p.public_id, status="approved")
    assert ledger.update_proposal(p.public_id) == later  # nothing to change: nothing written
    assert ledger.verify().ok and ledger.verify().checked == 3


def test_update_with_a_stale_version_conflicts(ledger, proposals):
    p = proposals.make(status="offered")
    ledger.update_proposal(p.public_id, context_patch={"note": "first"}, expected_version=1)
    with pytest.raises(DecisionConflict, match="changed by someone else a moment ago; reload it"):
        ledger.update_proposal(p.public_id, context_patch={"note": "second"}, expected_version=1)
