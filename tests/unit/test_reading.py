"""How a reply to the bot's offers is read (makegood.services.bot.reading): a pick, a remedy that
was not offered, a sum, or a no — clause by clause, so a refused remedy is never the one granted."""

from __future__ import annotations

from decimal import Decimal

import pytest

from makegood.services.bot.reading import Reading, pick, read_reply, refused_remedies

pytestmark = pytest.mark.unit

MENU = [
    {"remedy": "partial_refund", "size": "25.00"},
    {"remedy": "store_credit", "size": "30.00"},
    {"remedy": "goodwill_voucher", "size": "10.00"},
]
CREDIT_ONLY = [{"remedy": "service_credit", "size": "15.00"}, {"remedy": "goodwill_voucher", "size": "5.00"}]


@pytest.mark.parametrize(
    "text, index",
    [
        ("the number 2 please", 1),
        ("second one", 1),
        ("option two", 1),
        ("the first", 0),
        ("Yes, the refund, thank you.", 0),
        ("not the voucher, the credit", 1),
        ("no, the refund is fine", 0),
        ("send it to my credit card", 0),
    ],
)
def test_a_pick_by_position_or_by_name(text, index):
    assert read_reply(text, MENU) == Reading("pick", index=index)


@pytest.mark.parametrize(
    "text",
    [
        "First of all, none of those work",
        "none of those work for me",
        "neither, sorry",
        "no thanks",
        "that voucher is no use to me",
    ],
)
def test_a_no_to_what_is_offered(text):
    assert read_reply(text, MENU).kind == "declines"


@pytest.mark.parametrize(
    "text, remedy",
    [
        ("I want the watch replaced, a voucher is no use to me", "replacement"),
        ("no, a refund, not credit", "full_refund"),
        ("an exchange for the right size please", "replacement"),
    ],
)
def test_a_remedy_that_was_not_offered_is_an_ask_for_it(text, remedy):
    assert read_reply(text, CREDIT_ONLY) == Reading("asks_other", remedy=remedy)


def test_a_sum_no_offer_comes_to_is_an_ask_for_that_sum():
    reading = read_reply("I just want the duplicate 129 refunded, nothing else", MENU, [Decimal("129")])
    assert reading == Reading("asks_amount", amount=Decimal("129"))
    # The sum of one of the offers is that offer.
    assert read_reply("ok the 30 then", MENU, [Decimal("30")]) == Reading("pick", index=1)


def test_a_refused_remedy_is_never_picked_even_when_it_is_the_only_word():
    assert pick("a voucher is useless to me", MENU) is None
    assert refused_remedies("I want the watch replaced, a voucher is no use to me") == {"goodwill_voucher"}


def test_a_subscription_plan_or_a_credit_card_is_not_a_remedy():
    assert read_reply("the music plan on my account", MENU).kind == "unclear"
    assert refused_remedies("not on my credit card") == {"full_refund", "partial_refund"}


def test_unclear_when_two_offers_are_named_equally():
    both = [{"remedy": "full_refund", "size": "89.99"}, {"remedy": "partial_refund", "size": "20.00"}]
    assert read_reply("the refund", both).kind == "unclear"
    assert read_reply("ok", MENU).kind == "unclear"
