"""Decision tables for the airline pack (policy-packs/airline/), read like the policy.

Each row: who is acting, what we know, what that actor may offer (remedy, size, rule) best first,
and what only a higher tier may give (remedy, tier). Sizes are dollars for the whole booking
(unit amount x passengers); None for remedies with no size (vouchers, rebooking, bag delivery).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from makegood.policy import Case, Tier, check, load_catalog, options

pytestmark = pytest.mark.unit

SS, AGENT, PEER, SUP, MGR = Tier.SELF_SERVICE, Tier.AGENT, Tier.PEER, Tier.SUPERVISOR, Tier.MANAGER


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(Path(__file__).parents[2] / "policy-packs" / "airline")


def row(tier, facts, offers, beyond=(), *, id):
    return pytest.param(tier, facts, offers, list(beyond), id=id)


def assert_row(catalog, situation, tier, facts, offers, beyond, missing=()):
    result = options(catalog, Case.build(catalog, situation, facts), tier)
    assert [(o.remedy, o.size, o.rule) for o in result.offers] == [
        (r, None if s is None else Decimal(s), rule) for r, s, rule in offers
    ]
    assert [(o.remedy, o.required_tier) for o in result.beyond] == beyond
    assert result.missing_facts == tuple(missing)
    assert (result.handoff is None) == bool(offers)
    return result


MEAL = ("meal_voucher", None, "flight_delay.meal_voucher")
LOUNGE = ("lounge_pass", None, "flight_delay.lounge_pass")
MILES = ("bonus_miles", None, "flight_delay.bonus_miles")

# -- delays: meals from two hours; our fault: $200 a passenger from 3 hours, $400 from 5;
#    outside causes: Gold and Platinum get $50 credit a passenger from 4 hours; members get miles.
DELAYS = [
    row(
        SS,
        {"delay_hours": 6, "cause": "airline", "passengers": 2},
        [MEAL, ("delay_compensation", 800, "flight_delay.long")],
        id="6 hours, our fault, 2 passengers, bot: meals and $400 x 2",
    ),
    row(
        SS,
        {"delay_hours": 6, "cause": "airline", "passengers": 3, "membership": "gold"},
        [MEAL, LOUNGE, MILES],
        [("delay_compensation", AGENT)],
        id="6 hours, our fault, 3 passengers, Gold, bot: $1,200 is above the bot's $800, an agent pays it",
    ),
    row(
        AGENT,
        {"delay_hours": 6, "cause": "airline", "passengers": 3, "membership": "gold"},
        [MEAL, LOUNGE, ("delay_compensation", 1200, "flight_delay.long"), MILES],
        id="6 hours, our fault, 3 passengers, Gold, agent: $400 x 3",
    ),
    row(
        SS,
        {"delay_hours": 4, "cause": "airline"},
        [MEAL, ("delay_compensation", 200, "flight_delay.medium")],
        id="4 hours, our fault, one passenger, bot: meals and $200",
    ),
    row(
        SS,
        {"delay_hours": 5, "cause": "weather", "passengers": 2, "membership": "Platinum"},
        [MEAL, LOUNGE, ("travel_credit", 100, "flight_delay.member_gesture"), MILES],
        id="5 hours, weather, Platinum, 2 passengers, bot: no compensation, $50 x 2 credit",
    ),
    row(
        SS,
        {"delay_hours": 5, "cause": "air traffic control"},
        [MEAL],
        id="5 hours, air traffic control, no membership, bot: meals",
    ),
]


@pytest.mark.parametrize("tier, facts, offers, beyond", DELAYS)
def test_flight_delay(catalog, tier, facts, offers, beyond):
    assert_row(catalog, "flight_delay", tier, facts, offers, beyond)


def test_a_short_delay_is_outside_policy_and_handed_to_an_agent(catalog):
    result = assert_row(catalog, "flight_delay", SS, {"delay_hours": 1, "cause": "airline"}, [], [])
    assert result.blocked[0].rule == "flight_delay.eligible" and result.handoff.tier == AGENT


def test_nothing_is_judged_before_the_cause_is_known(catalog):
    assert_row(catalog, "flight_delay", SS, {"delay_hours": 6}, [], [], missing=["cause"])


REBOOK = ("rebooking", None, "flight_cancellation.rebooking")

# -- cancellations: rebooking, the fare back, or 120% of it as credit; our fault with under
#    14 days' notice adds $300 a passenger.
CANCELLATIONS = [
    row(
        SS,
        {"cause": "weather", "fare": 300, "passengers": 2},
        [
            REBOOK,
            ("fare_refund", 600, "flight_cancellation.fare_refund"),
            ("travel_credit", 720, "flight_cancellation.travel_credit"),
        ],
        id="weather, $300 x 2, bot: rebook, $600 back or $720 credit; no compensation (notice not asked)",
    ),
    row(
        SS,
        {"cause": "airline", "fare": 300, "passengers": 2, "notice_days": 3},
        [
            REBOOK,
            ("fare_refund", 600, "flight_cancellation.fare_refund"),
            ("travel_credit", 720, "flight_cancellation.travel_credit"),
            ("delay_compensation", 600, "flight_cancellation.short_notice"),
        ],
        id="our fault, 3 days' notice, 2 passengers, bot: and $300 x 2 compensation",
    ),
    row(
        SS,
        {"cause": "airline", "fare": 2000, "passengers": 4, "notice_days": 5},
        [REBOOK],
        [("fare_refund", SUP), ("travel_credit", SUP), ("delay_compensation", AGENT)],
        id="our fault, 5 days notice, $2,000 x 4, bot: refund, credit for a supervisor, compensation for an agent",
    ),
]


@pytest.mark.parametrize("tier, facts, offers, beyond", CANCELLATIONS)
def test_flight_cancellation(catalog, tier, facts, offers, beyond):
    missing = ["notice_days"] if facts["cause"] == "airline" and "notice_days" not in facts else []
    assert_row(catalog, "flight_cancellation", tier, facts, offers, beyond, missing)


def test_a_cancellation_outside_the_rules_goes_to_the_disruption_supervisor(catalog):
    case = Case.build(catalog, "flight_cancellation", {"cause": "weather", "fare": 300})
    verdict = check(catalog, case, "fare_refund", 5000, SS)
    assert verdict.status == "outside_policy" and verdict.handoff.tier == SUP


# -- refund or voucher: Flex fares are refunded; Standard fares get credit (Platinum: refund, from
#    an agent); Basic fares get neither.
REFUNDS = [
    row(
        SS,
        {"fare": 200, "fare_type": "flex", "passengers": 2},
        [("fare_refund", 400, "refund_request.flex"), ("travel_credit", 400, "refund_request.travel_credit")],
        id="Flex fare, 2 passengers, bot: $400 back or $400 credit",
    ),
    row(
        SS,
        {"fare": 200, "fare_type": "Standard", "membership": "Platinum"},
        [("travel_credit", 200, "refund_request.travel_credit")],
        [("fare_refund", AGENT)],
        id="Standard fare, Platinum, bot: credit; a refund as an exception from an agent",
    ),
    row(
        SS,
        {"fare": 200, "fare_type": "Standard"},
        [("travel_credit", 200, "refund_request.travel_credit")],
        id="Standard fare, bot: credit only",
    ),
    row(SS, {"fare": 200, "fare_type": "basic"}, [], id="Basic fare, bot: nothing, handed to an agent"),
]


@pytest.mark.parametrize("tier, facts, offers, beyond", REFUNDS)
def test_refund_request(catalog, tier, facts, offers, beyond):
    result = assert_row(catalog, "refund_request", tier, facts, offers, beyond)
    if not offers:
        assert result.handoff.tier == AGENT and "only Flex fares are refundable" in result.handoff.reason


# -- baggage: delivered to the passenger; essentials from 12 hours late (bot up to $100);
#    repairs from an agent. Anything else goes to a supervisor.
BAGS = [
    row(
        SS,
        {"bag_hours_late": 24, "essentials_spend": 80},
        [
            ("bag_delivery", None, "delayed_baggage.bag_delivery"),
            ("essentials_refund", 80, "delayed_baggage.essentials_refund"),
        ],
        id="24 hours, $80 essentials, bot: delivery and $80",
    ),
    row(
        SS,
        {"bag_hours_late": 6},
        [("bag_delivery", None, "delayed_baggage.bag_delivery")],
        id="6 hours, bot: delivery; essentials not asked for before 12 hours",
    ),
    row(
        SS,
        {"bag_hours_late": 0, "bag_damaged": True, "repair_quote": 180},
        [],
        [("bag_repair", AGENT)],
        id="damaged bag, $180 repair, bot: an agent pays repairs",
    ),
]


@pytest.mark.parametrize("tier, facts, offers, beyond", BAGS)
def test_delayed_baggage(catalog, tier, facts, offers, beyond):
    assert_row(catalog, "delayed_baggage", tier, facts, offers, beyond)


def test_essentials_are_asked_for_once_the_bag_is_12_hours_late(catalog):
    assert_row(
        catalog,
        "delayed_baggage",
        SS,
        {"bag_hours_late": 30},
        [("bag_delivery", None, "delayed_baggage.bag_delivery")],
        [],
        missing=["essentials_spend"],
    )


def test_a_bag_case_nothing_covers_goes_to_a_supervisor(catalog):
    result = assert_row(catalog, "delayed_baggage", SS, {"bag_hours_late": 0}, [], [])
    assert result.handoff.tier == SUP
