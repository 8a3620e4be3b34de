"""Decision tables for the policy engine, read like the policy itself.

Each row: who is acting (tier), what we know (facts), what that actor may offer, best first,
as (remedy, size), and what policy allows but only a higher tier may give, as (remedy, tier).
Sizes are dollars, except remedies counted in days (return window extension, payment deferral).
Every number below was worked out from policy/catalog.yml by hand, not copied from the engine.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from makegood.errors import CaseError
from makegood.policy import Case, Tier, check, judge_ask, load_catalog, options, plan_for

pytestmark = pytest.mark.unit

SS, AGENT, PEER, SUP, MGR = Tier.SELF_SERVICE, Tier.AGENT, Tier.PEER, Tier.SUPERVISOR, Tier.MANAGER


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(Path(__file__).parents[2] / "policy")


def _row(tier, facts, offers, beyond, id):
    return pytest.param(tier, facts, offers, beyond, id=id)


def _assert_row(catalog, situation, tier, facts, offers, beyond):
    result = options(catalog, Case.build(catalog, situation, facts), tier)
    assert [(o.remedy, o.size) for o in result.offers] == [(r, Decimal(s)) for r, s in offers]
    assert [(o.remedy, o.required_tier) for o in result.beyond] == list(beyond)
    for o in result.offers + result.beyond:
        assert isinstance(o.size, int if o.kind == "days" else Decimal), o
        assert o.policy_version == catalog.version
        assert o.rule.startswith(f"{situation}.") and o.cap_rule.startswith(f"{o.rule}.caps.")
    assert result.next_step == ("offer" if offers else "handoff")
    assert (result.handoff is None) == bool(offers)
    if not offers and beyond:
        # With nothing to offer, the case goes to the lowest tier that can give something.
        assert result.handoff.tier == min(t for _, t in beyond)
    return result


# -- late delivery: shipping upgrade $12 (our delay, not an exception); credit 10% from 3 days late,
#    refund 15% from 7, full refund from 10; voucher $5.
LATE_DELIVERY = [
    _row(
        SS,
        {"order_value": 100, "days_late": 2},
        [("shipping_upgrade", 12), ("goodwill_voucher", 5)],
        [],
        id="2 days late on $100, bot: shipping upgrade $12, voucher $5; credit waits for day 3",
    ),
    _row(
        SS,
        {"order_value": 100, "days_late": 8},
        [("shipping_upgrade", 12), ("store_credit", 10), ("partial_refund", 15), ("goodwill_voucher", 5)],
        [],
        id="8 days late on $100, bot: upgrade $12, credit $10, refund $15, voucher $5; no full refund before day 10",
    ),
    _row(
        SS,
        {"order_value": 300, "days_late": 12},
        [("shipping_upgrade", 12), ("store_credit", 20), ("partial_refund", 15), ("goodwill_voucher", 5)],
        [("store_credit", AGENT), ("partial_refund", PEER), ("full_refund", PEER)],
        id=(
            "12 days late on $300, bot: credit cut to $20, refund cut to $15; "
            "full credit agent, refund and full refund peer"
        ),
    ),
    _row(
        AGENT,
        {"order_value": 300, "days_late": 12},
        [("shipping_upgrade", 12), ("store_credit", 30), ("partial_refund", 40), ("goodwill_voucher", 5)],
        [("partial_refund", PEER), ("full_refund", PEER)],
        id="12 days late on $300, agent: credit $30, refund cut to $40; $45 refund and $300 full refund need peer",
    ),
    _row(
        PEER,
        {"order_value": 300, "days_late": 12},
        [
            ("shipping_upgrade", 12),
            ("store_credit", 30),
            ("partial_refund", 45),
            ("full_refund", 300),
            ("goodwill_voucher", 5),
        ],
        [],
        id="12 days late on $300, peer: everything at full size",
    ),
]


@pytest.mark.parametrize("tier, facts, offers, beyond", LATE_DELIVERY)
def test_late_delivery(catalog, tier, facts, offers, beyond):
    _assert_row(catalog, "late_delivery", tier, facts, offers, beyond)


# -- lost package: replacement, full refund, credit (all the order value), voucher $10.
LOST_PACKAGE = [
    _row(
        SS,
        {"order_value": 60, "days_since_purchase": 10},
        [("replacement", 60), ("store_credit", 60), ("goodwill_voucher", 10)],
        [("full_refund", AGENT)],
        id="lost $60 parcel, bot: replacement, credit $60, voucher $10; a $60 refund needs agent (bot max $50)",
    ),
    _row(
        AGENT,
        {"order_value": 300, "days_since_purchase": 10},
        [("goodwill_voucher", 10)],
        [("replacement", PEER), ("full_refund", PEER), ("store_credit", PEER)],
        id="lost $300 parcel, agent: only voucher $10; replacement, refund, credit need peer",
    ),
    _row(
        PEER,
        {"order_value": 300, "days_since_purchase": 10},
        [("replacement", 300), ("full_refund", 300), ("store_credit", 300), ("goodwill_voucher", 10)],
        [],
        id="lost $300 parcel, peer: replacement, refund, credit $300, voucher $10",
    ),
]


@pytest.mark.parametrize("tier, facts, offers, beyond", LOST_PACKAGE)
def test_lost_package(catalog, tier, facts, offers, beyond):
    _assert_row(catalog, "lost_package", tier, facts, offers, beyond)


# -- damaged item: replacement, refund 30%, credit 40% (both adjustable), full refund unless at fault, voucher $10.
DAMAGED_ITEM = [
    _row(
        SS,
        {"order_value": 80, "days_since_delivery": 3},
        [("partial_refund", 24), ("store_credit", 30), ("goodwill_voucher", 10)],
        [("replacement", AGENT), ("store_credit", AGENT), ("full_refund", AGENT)],
        id="damaged $80 order, bot: partial refund $24, credit $30, voucher $10; replacement needs agent",
    ),
    _row(
        AGENT,
        {"order_value": 80, "days_since_delivery": 3},
        [
            ("replacement", 80),
            ("partial_refund", 24),
            ("store_credit", 32),
            ("full_refund", 80),
            ("goodwill_voucher", 10),
        ],
        [],
        id="damaged $80 order, agent: replacement, refund $24, credit $32, full refund $80, voucher $10",
    ),
    _row(
        AGENT,
        {"order_value": 400, "days_since_delivery": 3},
        [("partial_refund", 75), ("store_credit", 100), ("goodwill_voucher", 10)],
        [("replacement", PEER), ("partial_refund", PEER), ("store_credit", PEER), ("full_refund", SUP)],
        id="damaged $400 order, agent: refund cut to $75, credit cut to $100; replacement peer, full refund supervisor",
    ),
    _row(
        PEER,
        {"order_value": 400, "days_since_delivery": 3},
        [("replacement", 400), ("partial_refund", 120), ("store_credit", 160), ("goodwill_voucher", 10)],
        [("full_refund", SUP)],
        id="damaged $400 order, peer: replacement, refund $120, credit $160; $400 full refund needs supervisor",
    ),
    _row(
        SUP,
        {"order_value": 400, "days_since_delivery": 3},
        [
            ("replacement", 400),
            ("partial_refund", 120),
            ("store_credit", 160),
            ("full_refund", 400),
            ("goodwill_voucher", 10),
        ],
        [],
        id="damaged $400 order, supervisor: everything including the $400 full refund",
    ),
]


@pytest.mark.parametrize("tier, facts, offers, beyond", DAMAGED_ITEM)
def test_damaged_item(catalog, tier, facts, offers, beyond):
    _assert_row(catalog, "damaged_item", tier, facts, offers, beyond)


# -- wrong item: replacement and refund are our mistake (not exceptions); keep it; voucher $10.
WRONG_ITEM = [
    _row(
        SS,
        {"order_value": 45, "days_since_delivery": 5},
        [("replacement", 45), ("full_refund", 45), ("goodwill_voucher", 10)],
        [("keep_item", AGENT)],
        id="wrong $45 item, bot: exchange, refund $45, voucher $10; keeping it needs agent (bot max $20)",
    ),
    _row(
        SS,
        {"order_value": 18, "days_since_delivery": 5},
        [("replacement", 18), ("full_refund", 18), ("keep_item", 18), ("goodwill_voucher", 10)],
        [],
        id="wrong $18 item, bot: exchange, refund, keep it, voucher",
    ),
    _row(
        AGENT,
        {"order_value": 45, "days_since_delivery": 5},
        [("replacement", 45), ("full_refund", 45), ("keep_item", 45), ("goodwill_voucher", 10)],
        [],
        id="wrong $45 item, agent: exchange, refund, keep it, voucher",
    ),
    _row(
        AGENT,
        {"order_value": 45, "days_since_delivery": 5, "recent_exceptions": 5},
        [("replacement", 45), ("full_refund", 45)],
        [("keep_item", SUP), ("goodwill_voucher", SUP)],
        id="wrong $45 item, 5 recent exceptions, agent: exchange and refund still (not exceptions); favours supervisor",
    ),
]


@pytest.mark.parametrize("tier, facts, offers, beyond", WRONG_ITEM)
def test_wrong_item(catalog, tier, facts, offers, beyond):
    _assert_row(catalog, "wrong_item", tier, facts, offers, beyond)


# -- unexpected package: prepaid return $8, keep it, voucher $5; none counts as an exception.
UNEXPECTED_PACKAGE = [
    _row(
        SS,
        {"order_value": 20},
        [("prepaid_return", 8), ("keep_item", 20), ("goodwill_voucher", 5)],
        [],
        id="unexpected $20 parcel, bot: return label $8, keep it, voucher $5",
    ),
    _row(
        SS,
        {"order_value": 50},
        [("prepaid_return", 8), ("goodwill_voucher", 5)],
        [("keep_item", AGENT)],
        id="unexpected $50 parcel, bot: return label, voucher; keeping it needs agent (bot max $25)",
    ),
    _row(
        AGENT,
        {"order_value": 50},
        [("prepaid_return", 8), ("keep_item", 50), ("goodwill_voucher", 5)],
        [],
        id="unexpected $50 parcel, agent: return label, keep it, voucher",
    ),
    _row(
        SS,
        {"order_value": 20, "recent_exceptions": 10},
        [("prepaid_return", 8), ("keep_item", 20), ("goodwill_voucher", 5)],
        [],
        id="unexpected $20 parcel, 10 recent exceptions, bot: unchanged (none counts as an exception)",
    ),
]


@pytest.mark.parametrize("tier, facts, offers, beyond", UNEXPECTED_PACKAGE)
def test_unexpected_package(catalog, tier, facts, offers, beyond):
    _assert_row(catalog, "unexpected_package", tier, facts, offers, beyond)


# -- late return: window reopened for the days missed; credit 70%; cash refund 40% for gold/platinum
#    or a year's tenure; voucher $10.
LATE_RETURN = [
    _row(
        SS,
        {"order_value": 50, "days_past_window": 5, "membership": "standard", "tenure_days": 100},
        [("return_window_extension", 5), ("store_credit", 35), ("goodwill_voucher", 10)],
        [],
        id="5 days late return of $50, standard member, bot: window +5 days, credit $35, voucher; no cash refund",
    ),
    _row(
        SS,
        {"order_value": 100, "days_past_window": 10, "membership": "gold"},
        [("store_credit", 40), ("partial_refund", 20), ("goodwill_voucher", 10)],
        [("return_window_extension", AGENT), ("store_credit", AGENT), ("partial_refund", AGENT)],
        id="10 days late return of $100, gold, bot: credit cut to $40, refund cut to $20; 10-day window agent",
    ),
    _row(
        AGENT,
        {"order_value": 100, "days_past_window": 10, "membership": "gold"},
        [("return_window_extension", 10), ("store_credit", 70), ("partial_refund", 40), ("goodwill_voucher", 10)],
        [],
        id="10 days late return of $100, gold, agent: window +10, credit $70, refund $40, voucher",
    ),
    _row(
        AGENT,
        {"order_value": 100, "days_past_window": 10, "membership": "standard", "tenure_days": 400},
        [("return_window_extension", 10), ("store_credit", 70), ("partial_refund", 40), ("goodwill_voucher", 10)],
        [],
        id="10 days late return of $100, standard but 400 days' tenure, agent: cash refund allowed",
    ),
    _row(
        PEER,
        {"order_value": 100, "days_past_window": 20, "membership": "platinum"},
        [("return_window_extension", 20), ("store_credit", 70), ("partial_refund", 40), ("goodwill_voucher", 10)],
        [],
        id="20 days late return of $100, platinum, peer: window +20 (agent max 14), credit, refund, voucher",
    ),
]


@pytest.mark.parametrize("tier, facts, offers, beyond", LATE_RETURN)
def test_late_return(catalog, tier, facts, offers, beyond):
    _assert_row(catalog, "late_return", tier, facts, offers, beyond)


# -- billing error: refund the wrong charge (our error, not an exception), voucher $10.
BILLING_ERROR = [
    _row(
        SS,
        {"disputed_amount": 40},
        [("full_refund", 40), ("goodwill_voucher", 10)],
        [],
        id="$40 wrong charge, bot: refund $40, voucher $10",
    ),
    _row(
        SS,
        {"disputed_amount": 120},
        [("goodwill_voucher", 10)],
        [("full_refund", AGENT)],
        id="$120 wrong charge, bot: voucher; refunding $120 needs agent (bot max $50)",
    ),
    _row(
        AGENT,
        {"disputed_amount": 120},
        [("full_refund", 120), ("goodwill_voucher", 10)],
        [],
        id="$120 wrong charge, agent: refund $120, voucher",
    ),
    _row(
        AGENT,
        {"disputed_amount": 600},
        [("goodwill_voucher", 10)],
        [("full_refund", SUP)],
        id="$600 wrong charge, agent: voucher; refund needs supervisor (peer max $500)",
    ),
    _row(
        SS,
        {"disputed_amount": 40, "recent_exceptions": 9},
        [("full_refund", 40), ("goodwill_voucher", 10)],
        [],
        id="$40 wrong charge, 9 recent exceptions, bot: unchanged (correcting our error is not an exception)",
    ),
]


@pytest.mark.parametrize("tier, facts, offers, beyond", BILLING_ERROR)
def test_billing_error(catalog, tier, facts, offers, beyond):
    _assert_row(catalog, "billing_error", tier, facts, offers, beyond)


# -- fee dispute: waive the fee or credit it (both adjustable), voucher $5.
FEE_DISPUTE = [
    _row(
        SS,
        {"disputed_amount": 20},
        [("fee_waiver", 20), ("store_credit", 20), ("goodwill_voucher", 5)],
        [],
        id="$20 fee, bot: waive $20, credit $20, voucher $5",
    ),
    _row(
        SS,
        {"disputed_amount": 40},
        [("fee_waiver", 25), ("store_credit", 30), ("goodwill_voucher", 5)],
        [("fee_waiver", AGENT), ("store_credit", AGENT)],
        id="$40 fee, bot: waive $25 of it, or credit $30; the whole $40 needs agent",
    ),
    _row(
        AGENT,
        {"disputed_amount": 40},
        [("fee_waiver", 40), ("store_credit", 40), ("goodwill_voucher", 5)],
        [],
        id="$40 fee, agent: waive $40, credit $40, voucher",
    ),
    _row(
        AGENT,
        {"disputed_amount": 80},
        [("fee_waiver", 50), ("store_credit", 60), ("goodwill_voucher", 5)],
        [("fee_waiver", PEER), ("store_credit", PEER)],
        id="$80 fee, agent: waive $50 of it, or credit $60; the whole $80 needs peer",
    ),
]


@pytest.mark.parametrize("tier, facts, offers, beyond", FEE_DISPUTE)
def test_fee_dispute(catalog, tier, facts, offers, beyond):
    _assert_row(catalog, "fee_dispute", tier, facts, offers, beyond)


# -- missed payment: a payment plan (balance limits under payment_plans), late fee waived ($15),
#    due date deferred 14 days (adjustable).
MISSED_PAYMENT = [
    _row(
        SS,
        {"debt_amount": 600},
        [("payment_plan", 600), ("fee_waiver", 15), ("payment_deferral", 7)],
        [("payment_deferral", AGENT)],
        id="$600 overdue, bot: payment plan, $15 late fee waived, 7-day deferral; 14 days needs agent",
    ),
    _row(
        AGENT,
        {"debt_amount": 600},
        [("payment_plan", 600), ("fee_waiver", 15), ("payment_deferral", 14)],
        [],
        id="$600 overdue, agent: payment plan, late fee waived, 14-day deferral",
    ),
    _row(
        SS,
        {"debt_amount": 3000},
        [("fee_waiver", 15), ("payment_deferral", 7)],
        [("payment_plan", AGENT), ("payment_deferral", AGENT)],
        id="$3000 overdue, bot: fee waived, 7-day deferral; a plan for $3000 needs agent (bot plans up to $1500)",
    ),
    _row(
        AGENT,
        {"debt_amount": 6000},
        [("fee_waiver", 15), ("payment_deferral", 14)],
        [("payment_plan", PEER)],
        id="$6000 overdue, agent: fee waived, deferral; the plan needs peer (agent plans up to $5000)",
    ),
]


@pytest.mark.parametrize("tier, facts, offers, beyond", MISSED_PAYMENT)
def test_missed_payment(catalog, tier, facts, offers, beyond):
    _assert_row(catalog, "missed_payment", tier, facts, offers, beyond)


# -- price drop: refund or credit the difference within 14 days of purchase; voucher $10.
PRICE_DROP = [
    _row(
        SS,
        {"price_difference": 25, "days_since_purchase": 5},
        [("partial_refund", 25), ("store_credit", 25), ("goodwill_voucher", 10)],
        [],
        id="$25 drop 5 days after purchase, bot: refund $25, credit $25, voucher",
    ),
    _row(
        SS,
        {"price_difference": 35, "days_since_purchase": 5},
        [("store_credit", 35), ("goodwill_voucher", 10)],
        [("partial_refund", AGENT)],
        id="$35 drop, bot: credit $35, voucher; refunding $35 needs agent (bot max $30)",
    ),
    _row(
        AGENT,
        {"price_difference": 110, "days_since_purchase": 5},
        [("store_credit", 110), ("goodwill_voucher", 10)],
        [("partial_refund", PEER)],
        id="$110 drop, agent: credit $110, voucher; refund needs peer (agent max $100)",
    ),
    _row(
        AGENT,
        {"price_difference": 25, "days_since_purchase": 20},
        [("goodwill_voucher", 10)],
        [],
        id="$25 drop 20 days after purchase, agent: voucher only; price protection is 14 days",
    ),
]


@pytest.mark.parametrize("tier, facts, offers, beyond", PRICE_DROP)
def test_price_drop(catalog, tier, facts, offers, beyond):
    _assert_row(catalog, "price_drop", tier, facts, offers, beyond)


# -- late cancellation: the renewal refunded within 7 days; half of it (adjustable); a month's
#    service credit; voucher $5.
LATE_CANCELLATION = [
    _row(
        SS,
        {"monthly_fee": 20, "days_past_window": 3},
        [("full_refund", 20), ("partial_refund", 10), ("service_credit", 20), ("goodwill_voucher", 5)],
        [],
        id="$20 renewal cancelled 3 days late, bot: refund $20, half $10, credit $20, voucher",
    ),
    _row(
        SS,
        {"monthly_fee": 50, "days_past_window": 3},
        [("partial_refund", 15), ("goodwill_voucher", 5)],
        [("full_refund", AGENT), ("partial_refund", AGENT), ("service_credit", AGENT)],
        id="$50 renewal, bot: refund cut to $15, voucher; refund, $25 half, credit need agent",
    ),
    _row(
        AGENT,
        {"monthly_fee": 50, "days_past_window": 3},
        [("full_refund", 50), ("partial_refund", 25), ("service_credit", 50), ("goodwill_voucher", 5)],
        [],
        id="$50 renewal, agent: refund $50, half $25, credit $50, voucher",
    ),
    _row(
        AGENT,
        {"monthly_fee": 50, "days_past_window": 10},
        [("partial_refund", 25), ("service_credit", 50), ("goodwill_voucher", 5)],
        [],
        id="$50 renewal cancelled 10 days late, agent: no full refund after 7 days; half, credit, voucher",
    ),
]


@pytest.mark.parametrize("tier, facts, offers, beyond", LATE_CANCELLATION)
def test_late_cancellation(catalog, tier, facts, offers, beyond):
    _assert_row(catalog, "late_cancellation", tier, facts, offers, beyond)


# -- service outage: a month refunded from 72 hours (agent and up), half a month's credit from 24,
#    a quarter from 4; voucher $5. None counts as an exception.
SERVICE_OUTAGE = [
    _row(
        SS,
        {"monthly_fee": 40, "outage_hours": 2},
        [("goodwill_voucher", 5)],
        [],
        id="$40 plan down 2 hours, bot: voucher only; credit starts at 4 hours",
    ),
    _row(
        SS,
        {"monthly_fee": 40, "outage_hours": 30},
        [("service_credit", 20), ("service_credit", 10), ("goodwill_voucher", 5)],
        [],
        id="$40 plan down 30 hours, bot: half-month credit $20, quarter credit $10, voucher",
    ),
    _row(
        SS,
        {"monthly_fee": 40, "outage_hours": 80},
        [("service_credit", 20), ("service_credit", 10), ("goodwill_voucher", 5)],
        [("partial_refund", AGENT)],
        id="$40 plan down 80 hours, bot: credits and voucher; the bot never refunds an outage, agent can",
    ),
    _row(
        AGENT,
        {"monthly_fee": 40, "outage_hours": 80},
        [("partial_refund", 40), ("service_credit", 20), ("service_credit", 10), ("goodwill_voucher", 5)],
        [],
        id="$40 plan down 80 hours, agent: month refunded $40, credits, voucher",
    ),
    _row(
        AGENT,
        {"monthly_fee": 120, "outage_hours": 80},
        [("service_credit", 30), ("goodwill_voucher", 5)],
        [("partial_refund", SUP), ("service_credit", PEER)],
        id="$120 plan down 80 hours, agent: quarter credit $30, voucher; $60 credit peer, $120 refund supervisor",
    ),
]


@pytest.mark.parametrize("tier, facts, offers, beyond", SERVICE_OUTAGE)
def test_service_outage(catalog, tier, facts, offers, beyond):
    _assert_row(catalog, "service_outage", tier, facts, offers, beyond)


def test_every_situation_has_a_table_at_self_service_and_agent(catalog):
    tables = {
        "late_delivery": LATE_DELIVERY,
        "lost_package": LOST_PACKAGE,
        "damaged_item": DAMAGED_ITEM,
        "wrong_item": WRONG_ITEM,
        "unexpected_package": UNEXPECTED_PACKAGE,
        "late_return": LATE_RETURN,
        "billing_error": BILLING_ERROR,
        "fee_dispute": FEE_DISPUTE,
        "missed_payment": MISSED_PAYMENT,
        "price_drop": PRICE_DROP,
        "late_cancellation": LATE_CANCELLATION,
        "service_outage": SERVICE_OUTAGE,
    }
    assert set(tables) == set(catalog.situation_ids)
    for situation, rows in tables.items():
        assert {SS, AGENT} <= {row.values[0] for row in rows}, situation


# -- the details an agent sees on one offer ---------------------------------------------------------


def test_reduced_offer_says_what_it_was_cut_from_and_which_cap_cut_it(catalog):
    result = options(catalog, Case.build(catalog, "damaged_item", {"order_value": 80, "days_since_delivery": 3}), SS)
    credit = next(o for o in result.offers if o.remedy == "store_credit")
    assert credit.size == Decimal("30.00") and credit.reduced_from == Decimal("32.00")
    assert credit.rule == "damaged_item.store_credit"
    assert credit.cap_rule == "damaged_item.store_credit.caps.self_service"
    assert credit.cost == Decimal("18.00")  # store credit costs us 60 cents on the dollar
    refund = next(o for o in result.offers if o.remedy == "partial_refund")
    assert refund.reduced_from is None and refund.cost == Decimal("24.00")
    assert "damaged_item.full_refund.caps.agent" in result.rules_cited
    assert result.ask_what_is_fair  # damage may be shared responsibility: ask what would be fair


# -- eligibility: outside the situation's window, nobody offers anything; an agent reviews it -------

INELIGIBLE = [
    pytest.param(
        "damaged_item",
        {"order_value": 80, "days_since_delivery": 31},
        "damage is reported within 30 days of delivery",
        id="damage reported 31 days after delivery",
    ),
    pytest.param(
        "late_delivery", {"order_value": 80, "days_late": 0}, "not past its promised date", id="order not late yet"
    ),
    pytest.param(
        "lost_package",
        {"order_value": 80, "days_since_purchase": 120},
        "within 90 days of purchase",
        id="lost parcel claimed 120 days after purchase",
    ),
    pytest.param(
        "wrong_item",
        {"order_value": 80, "days_since_delivery": 45},
        "within 30 days of delivery",
        id="wrong item reported 45 days after delivery",
    ),
    pytest.param(
        "late_return",
        {"order_value": 80, "days_past_window": 61},
        "more than 60 days after the window",
        id="return 61 days after the window",
    ),
    pytest.param(
        "price_drop",
        {"price_difference": 20, "days_since_purchase": 40},
        "30 days after purchase",
        id="price drop 40 days after purchase",
    ),
    pytest.param(
        "late_cancellation",
        {"monthly_fee": 20, "days_past_window": 35},
        "within 30 days",
        id="cancellation 35 days late",
    ),
    pytest.param("service_outage", {"monthly_fee": 20, "outage_hours": 0}, "under an hour", id="outage under an hour"),
]


@pytest.mark.parametrize("situation, facts, reason", INELIGIBLE)
@pytest.mark.parametrize("tier", [SS, SUP])
def test_ineligible_case_gets_no_offers_and_a_handoff_with_the_reason(catalog, situation, facts, reason, tier):
    result = options(catalog, Case.build(catalog, situation, facts), tier)
    assert result.offers == () and result.beyond == ()
    assert [b.rule for b in result.blocked] == [f"{situation}.eligible"]
    assert reason in result.blocked[0].reason
    assert result.next_step == "handoff"
    assert result.handoff.tier == max(AGENT, Tier.ordered()[tier.rank + 1])
    assert reason in result.handoff.reason


def test_ineligible_case_does_not_ask_for_facts_it_no_longer_needs(catalog):
    # Reported 45 days after delivery: the order value cannot change the answer, so don't ask for it.
    result = options(catalog, Case.build(catalog, "damaged_item", {"days_since_delivery": 45}), SS)
    assert result.missing_facts == ()
    assert result.next_step == "handoff"
    assert "within 30 days" in result.handoff.reason


# -- frequency caps: a customer's recent exceptions move favours up a tier ---------------------------

FREQUENCY = [
    pytest.param(
        SS,
        1,
        [("partial_refund", 24), ("store_credit", 30), ("goodwill_voucher", 10)],
        id="1 recent exception, bot: as usual",
    ),
    pytest.param(SS, 2, [], id="2 recent exceptions (bot max 2), bot: nothing; all to agent"),
    pytest.param(
        AGENT,
        2,
        [
            ("replacement", 80),
            ("partial_refund", 24),
            ("store_credit", 32),
            ("full_refund", 80),
            ("goodwill_voucher", 10),
        ],
        id="2 recent exceptions, agent: everything (agent max 3)",
    ),
    pytest.param(AGENT, 3, [], id="3 recent exceptions (agent max 3), agent: nothing; all to peer"),
    pytest.param(SUP, 6, [], id="6 recent exceptions (supervisor max 6), supervisor: nothing; all to manager"),
    pytest.param(
        MGR,
        40,
        [
            ("replacement", 80),
            ("partial_refund", 24),
            ("store_credit", 32),
            ("full_refund", 80),
            ("goodwill_voucher", 10),
        ],
        id="40 recent exceptions, manager: no frequency limit",
    ),
]


@pytest.mark.parametrize("tier, recent, offers", FREQUENCY)
def test_recent_exceptions_move_favours_up_a_tier(catalog, tier, recent, offers):
    facts = {"order_value": 80, "days_since_delivery": 3, "recent_exceptions": recent}
    result = options(catalog, Case.build(catalog, "damaged_item", facts), tier)
    assert [(o.remedy, o.size) for o in result.offers] == [(r, Decimal(s)) for r, s in offers]
    if not offers:
        next_tier = Tier.ordered()[tier.rank + 1]
        assert {o.required_tier for o in result.beyond} == {next_tier}
        assert len(result.beyond) == 5
        assert result.handoff.tier == next_tier


def test_frequency_cap_is_cited_on_the_verdict(catalog):
    case = Case.build(catalog, "damaged_item", {"order_value": 80, "days_since_delivery": 3, "recent_exceptions": 2})
    verdict = check(catalog, case, "goodwill_voucher", None, SS)
    assert verdict.status == "needs_tier" and verdict.required_tier == AGENT
    assert "tiers.self_service.max_recent_exceptions" in verdict.rules
    assert "this customer has had 2" in verdict.reason


def test_remedies_that_are_not_exceptions_ignore_the_frequency_cap(catalog):
    facts = {"order_value": 40, "days_late": 2, "recent_exceptions": 8}
    result = options(catalog, Case.build(catalog, "late_delivery", facts), SS)
    assert [(o.remedy, o.size) for o in result.offers] == [("shipping_upgrade", Decimal(12))]
    assert [(o.remedy, o.required_tier) for o in result.beyond] == [("goodwill_voucher", MGR)]


# -- `when` conditions --------------------------------------------------------------------------


def test_customer_at_fault_blocks_a_full_refund_for_damage(catalog):
    facts = {"order_value": 80, "days_since_delivery": 3, "customer_at_fault": True}
    result = options(catalog, Case.build(catalog, "damaged_item", facts), AGENT)
    assert "full_refund" not in {o.remedy for o in result.offers + result.beyond}
    assert [(b.remedy, b.rule) for b in result.blocked] == [("full_refund", "damaged_item.full_refund")]
    assert result.blocked[0].reason == "no full refund when the customer caused the damage"
    assert {o.remedy for o in result.offers} == {"replacement", "partial_refund", "store_credit", "goodwill_voucher"}
    verdict = check(catalog, Case.build(catalog, "damaged_item", facts), "full_refund", None, MGR)
    assert verdict.status == "outside_policy" and verdict.alternatives and verdict.handoff


@pytest.mark.parametrize(
    "membership, tenure, cash",
    [
        pytest.param("standard", 100, False, id="standard, 100 days: no cash refund"),
        pytest.param("silver", 364, False, id="silver, 364 days: no cash refund"),
        pytest.param("silver", 365, True, id="silver, 365 days: cash refund"),
        pytest.param("gold", 0, True, id="gold, new: cash refund"),
        pytest.param("platinum", 0, True, id="platinum, new: cash refund"),
    ],
)
def test_late_return_cash_refund_needs_gold_platinum_or_a_year(catalog, membership, tenure, cash):
    facts = {"order_value": 100, "days_past_window": 5, "membership": membership, "tenure_days": tenure}
    result = options(catalog, Case.build(catalog, "late_return", facts), AGENT)
    assert ("partial_refund" in {o.remedy for o in result.offers}) is cash
    blocked = [b for b in result.blocked if b.remedy == "partial_refund"]
    assert bool(blocked) is not cash
    if blocked:
        assert "gold and platinum members or customers of a year or more" in blocked[0].reason


def test_late_return_cash_refund_defaults_to_a_standard_new_customer(catalog):
    # membership and tenure come from the company; when the store does not say, assume the least.
    result = options(catalog, Case.build(catalog, "late_return", {"order_value": 100, "days_past_window": 5}), MGR)
    assert "partial_refund" not in {o.remedy for o in result.offers}


# -- missing facts -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "situation, facts, missing",
    [
        pytest.param(
            "damaged_item", {"order_value": 80}, ("days_since_delivery",), id="damage: when was it delivered?"
        ),
        pytest.param("late_delivery", {}, ("days_late", "order_value"), id="late delivery: how late, what value?"),
        pytest.param("lost_package", {"order_value": 80}, ("days_since_purchase",), id="lost: when was it bought?"),
        pytest.param("missed_payment", {}, ("debt_amount",), id="missed payment: how much is overdue?"),
        pytest.param("service_outage", {"outage_hours": 30}, ("monthly_fee",), id="outage: what is the monthly fee?"),
    ],
)
def test_missing_facts_are_asked_for_not_refused(catalog, situation, facts, missing):
    result = options(catalog, Case.build(catalog, situation, facts), SS)
    assert result.offers == () and result.blocked == ()
    assert result.missing_facts == missing
    assert result.next_step == "ask_facts"
    assert result.handoff is not None and all(f in result.handoff.reason for f in missing)


# -- check(): may this actor give this exact thing? --------------------------------------------------


@pytest.fixture(scope="module")
def damaged80(catalog):
    return Case.build(catalog, "damaged_item", {"order_value": 80, "days_since_delivery": 3})


def test_check_allowed_cites_the_rule_and_the_cap(catalog, damaged80):
    verdict = check(catalog, damaged80, "partial_refund", "20", SS)
    assert verdict.allowed and verdict.size == Decimal("20.00") and verdict.required_tier == SS
    assert verdict.rules == ("damaged_item.partial_refund", "damaged_item.partial_refund.caps.self_service")
    assert verdict.policy_version == catalog.version
    assert check(catalog, damaged80, "replacement", None, AGENT).allowed


@pytest.mark.parametrize(
    "remedy, size, tier, needed, blocking_cap",
    [
        pytest.param(
            "full_refund",
            None,
            SS,
            AGENT,
            "damaged_item.full_refund.caps.self_service.max_amount",
            id="bot, $80 full refund: agent (bot max $40)",
        ),
        pytest.param(
            "partial_refund",
            "30",
            SS,
            AGENT,
            "damaged_item.partial_refund.caps.self_service.max_amount",
            id="bot, $30 refund: agent (bot max $25)",
        ),
        pytest.param(
            "partial_refund",
            "60",
            AGENT,
            PEER,
            "damaged_item.partial_refund.caps.agent.max_percent",
            id="agent, $60 refund on $80: peer (agent max 50%)",
        ),
        pytest.param(
            "store_credit",
            "70",
            AGENT,
            PEER,
            "damaged_item.store_credit.caps.agent.max_percent",
            id="agent, $70 credit on $80: peer (agent max 60% = $48)",
        ),
    ],
)
def test_check_needs_tier_names_the_tier_and_the_cap(catalog, damaged80, remedy, size, tier, needed, blocking_cap):
    verdict = check(catalog, damaged80, remedy, size, tier)
    assert verdict.status == "needs_tier" and verdict.required_tier == needed
    assert blocking_cap in verdict.rules
    assert f"damaged_item.{remedy}.caps.{needed}" in verdict.rules
    assert verdict.handoff.tier == needed
    assert verdict.alternatives == options(catalog, damaged80, tier).offers and verdict.alternatives


def test_check_outside_policy_above_every_cap(catalog, damaged80):
    verdict = check(catalog, damaged80, "partial_refund", "90", MGR)  # more than the whole $80 order
    assert verdict.status == "outside_policy" and verdict.required_tier is None
    assert "damaged_item.partial_refund.caps.manager.max_percent" in verdict.rules
    assert "beyond every tier's authority" in verdict.reason
    assert verdict.alternatives and verdict.handoff


def test_check_outside_policy_remedy_not_in_situation(catalog, damaged80):
    verdict = check(catalog, damaged80, "payment_plan", "80", SS)
    assert verdict.status == "outside_policy"
    assert verdict.rules == ("damaged_item.remedies",)
    assert "payment_plan is not a remedy for damaged_item" in verdict.reason
    assert [o.remedy for o in verdict.alternatives] == ["partial_refund", "store_credit", "goodwill_voucher"]
    assert verdict.handoff is not None


def test_check_a_fixed_remedy_is_given_at_its_own_size_only(catalog, damaged80):
    # A "full refund" of $40 on an $80 order is a partial refund under another name: it would get round
    # the bot's partial-refund cap ($24 here). Remedies that are not adjustable are given whole or not at all.
    verdict = check(catalog, damaged80, "full_refund", "40", SS)
    assert verdict.status == "outside_policy"
    assert "$80" in verdict.reason
    assert verdict.alternatives and verdict.handoff
    assert check(catalog, damaged80, "full_refund", "80", AGENT).allowed
    assert check(catalog, damaged80, "full_refund", "120", MGR).status == "outside_policy"


def test_check_ineligible_case(catalog):
    case = Case.build(catalog, "damaged_item", {"order_value": 80, "days_since_delivery": 40})
    verdict = check(catalog, case, "goodwill_voucher", None, SS)
    assert verdict.status == "outside_policy" and verdict.rules == ("damaged_item.eligible",)
    assert verdict.alternatives == () and verdict.handoff.tier == AGENT
    assert "30 days" in verdict.reason


def test_check_missing_facts(catalog):
    case = Case.build(catalog, "damaged_item", {"days_since_delivery": 3})
    verdict = check(catalog, case, "goodwill_voucher", None, SS)
    assert verdict.status == "needs_facts" and verdict.missing_facts == ("order_value",)
    assert verdict.handoff is not None


def test_check_days_remedy(catalog):
    case = Case.build(catalog, "late_return", {"order_value": 100, "days_past_window": 10})
    verdict = check(catalog, case, "return_window_extension", None, SS)
    assert verdict.status == "needs_tier" and verdict.required_tier == AGENT and verdict.size is None
    assert "late_return.return_window_extension.caps.self_service.max_days" in verdict.rules
    assert check(catalog, case, "return_window_extension", "10", AGENT).allowed


def test_check_picks_the_rule_that_fits_when_a_remedy_has_two(catalog):
    case = Case.build(catalog, "service_outage", {"monthly_fee": 40, "outage_hours": 10})
    verdict = check(catalog, case, "service_credit", None, SS)  # too short for half a month; a quarter fits
    assert verdict.allowed and verdict.size == Decimal("10.00")
    assert verdict.rules[0] == "service_outage.service_credit"


def test_check_unknown_remedy_is_a_case_error(catalog, damaged80):
    with pytest.raises(CaseError, match=r"unknown remedy 'cash'.*full_refund"):
        check(catalog, damaged80, "cash", "10", SS)


# -- judge_ask(): "what would be fair?" -------------------------------------------------------------


@pytest.fixture(scope="module")
def damaged200(catalog):
    return Case.build(catalog, "damaged_item", {"order_value": 200, "days_since_delivery": 3})


def test_fair_ask_inside_authority_is_accepted(catalog, damaged80):
    result = judge_ask(catalog, damaged80, SS, amount="20")
    assert result.verdict == "accept" and result.remedy == "partial_refund"
    assert result.accepted.size == Decimal("20.00") and result.accepted.required_tier == SS
    assert result.accepted.cap_rule == "damaged_item.partial_refund.caps.self_service"
    assert result.counter is None and result.handoff is None


def test_fair_ask_percent_of_the_order(catalog, damaged80):
    result = judge_ask(catalog, damaged80, SS, percent="25")
    assert result.asked == Decimal("20.00") and result.verdict == "accept"


@pytest.mark.parametrize(
    "asked, counter, needs",
    [
        pytest.param("80", "70", PEER, id="agent, $200 order, asks $80: counter $70 (halfway from $60)"),
        pytest.param("140", "75", PEER, id="agent, $200 order, asks $140: counter $75 (agent cap), peer could"),
        pytest.param("200", "75", SUP, id="agent, $200 order, asks all $200: counter $75, supervisor could"),
        pytest.param("250", "75", None, id="agent, $200 order, asks $250: counter $75, nobody could"),
    ],
)
def test_fair_ask_counter_splits_the_difference_within_the_cap(catalog, damaged200, asked, counter, needs):
    result = judge_ask(catalog, damaged200, AGENT, amount=asked)
    assert result.verdict == "counter" and result.accepted is None
    assert result.counter.remedy == "partial_refund" and result.counter.size == Decimal(counter)
    assert result.counter.required_tier <= AGENT
    assert result.needs_tier == needs
    # Beside the counter: replacement ($200, agent max), $80 credit, voucher; not the $200 full refund.
    assert {o.remedy for o in result.alternatives} == {"replacement", "store_credit", "goodwill_voucher"}
    assert result.handoff is not None


def test_fair_ask_counter_at_the_bot_is_its_own_offer(catalog, damaged80):
    result = judge_ask(catalog, damaged80, SS, amount="40")
    assert result.verdict == "counter" and result.counter.size == Decimal("24.00")  # bot: 30% of $80
    assert result.needs_tier == AGENT and result.handoff.tier == AGENT


def test_fair_ask_fee_dispute_percent_is_of_the_fee(catalog):
    # "Waive half of it" in a fee dispute means half the fee, whatever the order was worth.
    case = Case.build(catalog, "fee_dispute", {"disputed_amount": 40, "order_value": 500})
    result = judge_ask(catalog, case, SS, percent=50)
    assert result.remedy == "fee_waiver" and result.asked == Decimal("20.00") and result.verdict == "accept"
    no_order = Case.build(catalog, "fee_dispute", {"disputed_amount": 40})
    assert judge_ask(catalog, no_order, SS, percent=50).asked == Decimal("20.00")


def test_fair_ask_late_cancellation_percent_is_of_the_monthly_fee(catalog):
    case = Case.build(catalog, "late_cancellation", {"monthly_fee": 20, "days_past_window": 3})
    result = judge_ask(catalog, case, SS, percent=50)
    assert result.remedy == "partial_refund" and result.asked == Decimal("10.00") and result.verdict == "accept"


def test_fair_ask_with_nothing_in_authority_hands_off(catalog):
    facts = {"order_value": 80, "days_since_delivery": 3, "recent_exceptions": 2}
    result = judge_ask(catalog, Case.build(catalog, "damaged_item", facts), SS, amount="10")
    assert result.verdict == "handoff" and result.counter is None and result.alternatives == ()
    assert result.needs_tier == AGENT and result.handoff.tier == AGENT


def test_fair_ask_needs_exactly_one_of_amount_or_percent(catalog, damaged80):
    with pytest.raises(CaseError):
        judge_ask(catalog, damaged80, SS)
    with pytest.raises(CaseError):
        judge_ask(catalog, damaged80, SS, amount=10, percent=10)
    with pytest.raises(CaseError, match="at most 100"):
        judge_ask(catalog, damaged80, SS, percent=150)


# -- plan_for(): "how much can you afford each week?" ------------------------------------------------


def test_plan_customer_figure_accepted_when_it_fits(catalog):
    result = plan_for(catalog, "600", "60", SS)
    assert result.status == "accepted" and result.handoff is None
    assert (result.plan.weekly, result.plan.weeks, result.plan.final_payment) == (Decimal(60), 10, Decimal(60))
    assert sum(result.plan.schedule) == Decimal("600.00")


def test_plan_term_too_long_counters_with_the_closest_compliant_plans(catalog):
    result = plan_for(catalog, "600", "25", SS)  # 24 weeks; the bot may agree 12
    assert result.status == "counter" and result.plan is None
    longest, first_payment, deferred = result.alternatives
    assert (longest.weekly, longest.weeks) == (Decimal(50), 12)
    assert (first_payment.first_payment, first_payment.weekly, first_payment.weeks) == (Decimal(300), Decimal(25), 12)
    assert (deferred.weekly, deferred.start_in_days) == (Decimal(50), 7)
    for plan in result.alternatives:
        assert plan.required_tier == SS and plan.weeks <= 12 and sum(plan.schedule) == Decimal(600)
    # Their own figure works with an agent (26 weeks).
    assert result.approval.required_tier == AGENT and result.approval.weeks == 24
    assert result.handoff.tier == AGENT
    assert "max_weeks.self_service" in result.reason


def test_plan_the_approval_tier_is_the_lowest_that_fits(catalog):
    result = plan_for(catalog, "3000", "60", AGENT)  # 50 weeks: agent 26, peer 39, supervisor 52
    assert result.approval.required_tier == SUP and result.approval.weeks == 50
    assert result.alternatives[0].weeks == 26 and result.alternatives[0].weekly == Decimal("115.39")


def test_plan_below_the_weekly_minimum_has_no_approver_only_a_handoff(catalog):
    result = plan_for(catalog, "600", "11", SS)  # minimum is max($10, 2% of $600) = $12
    assert result.status == "counter" and result.approval is None
    assert result.handoff is not None and result.handoff.tier == AGENT
    assert "12" in result.reason
    assert all(p.weekly >= Decimal(12) for p in result.alternatives)


def test_plan_debt_above_the_tier_limit(catalog):
    result = plan_for(catalog, "3000", "200", SS)  # bot plans up to $1500
    assert result.status == "counter" and result.alternatives == ()
    assert result.approval.required_tier == AGENT and result.handoff.tier == AGENT
    assert "max_debt.self_service" in result.reason


@pytest.mark.parametrize("debt, weekly", [("1000.01", "33.33"), ("99.99", "10"), ("1499.99", "125.01"), ("10", "25")])
def test_plan_schedule_sums_to_the_debt_exactly(catalog, debt, weekly):
    result = plan_for(catalog, debt, weekly, SS)
    for plan in (result.plan, *result.alternatives, result.approval):
        if plan is not None:
            assert sum(plan.schedule) == Decimal(debt)
            assert all(Decimal(0) < p <= max(plan.weekly, plan.first_payment or 0) for p in plan.schedule)


@pytest.mark.parametrize(
    ("situation", "facts"),
    [
        ("late_delivery", {"order_value": 80, "days_late": 0}),
        ("late_return", {"order_value": 80, "days_past_window": 0}),
    ],
    ids=["order not late yet", "return inside the window"],
)
def test_nothing_wrong_is_an_ordinary_answer_with_its_reason(catalog, situation, facts):
    result = options(catalog, Case.build(catalog, situation, facts), SS)
    assert result.offers == () and result.ordinary and "your" in result.ordinary


def test_a_late_case_is_not_ordinary(catalog):
    assert (
        options(catalog, Case.build(catalog, "late_delivery", {"order_value": 80, "days_late": 3}), SS).ordinary is None
    )
