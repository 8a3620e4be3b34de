"""How an option reads to a customer. A remedy with no size (kind item or none: a meal voucher,
rebooking, a replacement) is said without any amount: never "$0.00", "None" or empty brackets."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from makegood.policy import Case, Option, Tier, load_catalog, options
from makegood.services.bot.phrasing import describe, params
from makegood.services.copilot.core import option_json

pytestmark = pytest.mark.unit

ROOT = Path(__file__).parents[2]


def option(remedy: str, kind: str, size) -> Option:
    return Option(
        remedy=remedy,
        kind=kind,
        size=size,
        cost=Decimal("0"),
        required_tier=Tier.SELF_SERVICE,
        rule=f"x.{remedy}",
        cap_rule=f"x.{remedy}.self_service",
        policy_version="test",
    )


def assert_said_without_an_amount(text: str) -> None:
    assert text and "$" not in text and "None" not in text and "()" not in text and "0.00" not in text, text


@pytest.fixture(scope="module")
def airline():
    return load_catalog(ROOT / "policy-packs" / "airline")


def test_an_airline_delay_offers_items_said_without_any_amount(airline):
    facts = {"delay_hours": 4, "cause": "weather", "membership": "Gold"}
    result = options(airline, Case.build(airline, "flight_delay", facts), Tier.AGENT)
    sizeless = [o for o in result.offers if o.size is None]
    assert {o.remedy for o in sizeless} >= {"meal_voucher", "lounge_pass", "bonus_miles"}
    for o in sizeless:
        assert_said_without_an_amount(describe(o))
        assert params(o) == {"amount": "", "days": ""}
    assert describe(next(o for o in sizeless if o.remedy == "meal_voucher")) == "meal voucher"
    credit = next(o for o in result.offers if o.remedy == "travel_credit")
    assert describe(credit) == "travel credit ($50)"  # a sized remedy keeps its amount


def test_a_cancellation_offers_rebooking_with_no_size(airline):
    result = options(
        airline, Case.build(airline, "flight_cancellation", {"cause": "weather", "fare": "200"}), Tier.SELF_SERVICE
    )
    rebooking = next(o for o in result.offers if o.remedy == "rebooking")
    assert (rebooking.kind, rebooking.size, rebooking.as_json()["size"]) == ("none", None, None)
    assert describe(rebooking) == "rebooking"
    shown = option_json(rebooking)
    assert shown["size"] is None and shown["text"] == "rebooking"


def test_a_known_phrase_without_an_amount_is_kept_for_a_sizeless_remedy():
    assert describe(option("replacement", "item", None)) == "a free replacement, sent out today"
    assert describe(option("keep_item", "none", None)) == "keeping the item at no charge, with no need to send it back"


def test_a_known_phrase_that_needs_an_amount_falls_back_to_the_remedy_alone():
    """A pack may make store credit an item (a fixed card): "{amount} in store credit" would say nothing."""
    text = describe(option("store_credit", "item", None))
    assert text == "store credit"
    assert_said_without_an_amount(text)


def test_sized_remedies_still_say_their_size():
    assert describe(option("partial_refund", "money", Decimal("25.00"))) == "$25 back to your original payment method"
    assert describe(option("return_window_extension", "days", 14)) == "your return window reopened for 14 days"
    assert describe(option("extra_legroom", "money", Decimal("12.50"))) == "extra legroom ($12.50)"
    assert describe(option("free_storage", "days", 7)) == "free storage (7 days)"
