"""The catalog declares what a situation asks: each conversation fact's question (`ask:`, or a
situation's own `asks:`), how its answer is read (by type; `read: difference` for a price
drop), and facts worked out instead of asked (`derive:`). The bot and the copilot read the
same declarations; nothing about a particular fact is written in Python."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from makegood.errors import CaseError, PolicyError
from makegood.nlp import extract
from makegood.policy import Case, load_catalog, parse_catalog
from makegood.policy.derived import DerivationError, parse_derivation
from makegood.services.bot.case_facts import opening_slots, slots_to_ask
from makegood.services.bot.fact_reading import parse_fact, read_fact

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
RETAIL = load_catalog(ROOT / "policy")

BASE = """
label: test
facts:
  order_value: {type: money, source: company}
  days_since_delivery: {type: days, source: company}
  fault: {type: enum, values: [stopped working, Cracked Screen], ask: "What went wrong with it?"}
  months_owned: {type: month, ask: "How many months have you had it?"}
  repair_cost: {type: money, ask: "How much was the repair quote?"}
  days_past_window: {type: days}
remedies:
  repair: {kind: item, description: a free repair}
  refund: {kind: money}
"""
RULE = """    remedies:
      - remedy: repair
        caps: {self_service: {}, agent: {}, peer: {}, supervisor: {}, manager: {}}
"""


def catalog(situation: str, extra_facts: str = ""):
    text = textwrap.dedent(BASE).replace("remedies:\n", extra_facts + "remedies:\n", 1)
    body = textwrap.indent(textwrap.dedent(situation).rstrip("\n") + "\n", "  ")
    return parse_catalog(text + "situations:\n" + body + RULE, source="t.yml")


def refused(situation: str, extra_facts: str = "") -> str:
    with pytest.raises(PolicyError) as caught:
        catalog(situation, extra_facts)
    return str(caught.value)


# -- questions -------------------------------------------------------------------------------------
def test_the_retail_catalog_says_what_each_situation_asks_in_its_own_words():
    assert RETAIL.asked_facts("fee_dispute") == ["disputed_amount"]
    assert RETAIL.question("fee_dispute", "disputed_amount") == "How much was the fee you're questioning?"
    assert RETAIL.question("billing_error", "disputed_amount") == "How much was the charge you're questioning?"
    assert RETAIL.asked_facts("late_return") == []  # days past the window: derived from the order
    assert RETAIL.askable_facts() == ("disputed_amount", "debt_amount", "outage_hours", "price_difference")


def test_a_situation_asks_its_facts_in_catalog_order_after_the_order_number():
    c = catalog(
        """
        warranty_claim:
          needs: [order_value, repair_cost, fault]
          eligible: [{fact: months_owned, max: 24, reason: the warranty lasts two years}]
        """
    )
    assert slots_to_ask(c, "warranty_claim") == ["order_id", "fault", "months_owned", "repair_cost"]
    assert c.question("warranty_claim", "fault") == "What went wrong with it?"


def test_a_fact_the_customer_is_asked_for_must_have_a_question():
    message = refused("claim:\n  needs: [days_past_window]\n")
    assert message.startswith("t.yml") and "situations.claim" in message
    assert "days_past_window is asked of the customer here but has no question" in message


def test_a_situation_may_word_the_question_itself():
    c = catalog("claim:\n  needs: [days_past_window]\n  asks: {days_past_window: 'How many days late is it?'}\n")
    assert c.asked_facts("claim") == ["days_past_window"] and c.question("claim", "days_past_window") == (
        "How many days late is it?"
    )


@pytest.mark.parametrize(
    ("situation", "facts", "expected"),
    [
        ("claim:\n  asks: {order_value: 'What did you pay?'}\n", "", "order_value is a company fact"),
        ("claim:\n  asks: {colour: 'Which?'}\n", "", "unknown fact 'colour'"),
        ("claim:\n", "  paid: {type: money, source: company, ask: 'What did you pay?'}\n", "nobody is asked for it"),
        ("claim:\n", "  x: {type: money, ask: 7}\n", "expected the question as a sentence"),
        ("claim:\n", f"  x: {{type: money, ask: '{'why ' * 80}'}}\n", "at most 300 characters"),
        ("claim:\n", "  x: {type: count, read: difference, ask: 'How many?'}\n", "a money fact is read as one of"),
    ],
)
def test_a_question_in_the_wrong_place_is_refused_with_where(situation, facts, expected):
    assert expected in refused(situation, facts)


# -- derived facts ---------------------------------------------------------------------------------
def test_a_derived_fact_is_worked_out_and_never_asked():
    case = Case.build(RETAIL, "late_return", {"order_value": "60", "days_since_delivery": 45})
    assert case.facts["days_past_window"] == 15
    inside = Case.build(RETAIL, "late_return", {"order_value": "60", "days_since_delivery": 12})
    assert inside.facts["days_past_window"] == 0  # below zero counts as zero: the window is open


def test_a_derived_fact_beats_what_the_customer_claims_and_waits_for_its_inputs():
    told = Case.build(RETAIL, "late_return", {"days_since_delivery": 40, "days_past_window": 1})
    assert told.facts["days_past_window"] == 10
    unknown = Case.build(RETAIL, "late_return", {"order_value": "60"})
    assert "days_past_window" not in unknown.facts  # no delivery date: not derived, not guessed


def test_derivations_multiply_and_take_min_and_max():
    c = catalog(
        "claim:\n  derive:\n    repair_cost: 'min(order_value * 2, 500) + max(0, 3 - 5)'\n",
    )
    assert Case.build(c, "claim", {"order_value": "120"}).facts["repair_cost"] == 240
    assert Case.build(c, "claim", {"order_value": "300"}).facts["repair_cost"] == 500


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("__import__('os').system('x')", "functions are min"),
        ("order_value.real", "attribute is not allowed"),
        ("order_value / 2", "only +, - and *"),
        ("order_value ** 2", "only +, - and *"),
        ("lambda: 1", "lambda is not allowed"),
        ("1.5 * order_value", "only whole numbers"),
        ("order_value +", "cannot read"),
        ("colour + 1", "colour is not a fact"),
        ("days_past_window + 1", "cannot be derived from itself"),
        ("+".join(["order_value"] * 60), "at most 200"),
        ("max(" + ",".join(["1"] * 45) + ")", "too complex"),
        ("", "expected an expression"),
    ],
)
def test_a_derivation_is_checked_when_the_catalog_loads(expression, expected):
    names = {"order_value", "days_since_delivery", "days_past_window", "return_window_days"}
    with pytest.raises(DerivationError) as caught:
        parse_derivation("days_past_window", expression, names)
    assert expected in str(caught.value)


def test_a_bad_derivation_names_the_file_and_key():
    message = refused("claim:\n  derive: {days_past_window: 'order_value / 2'}\n")
    assert message.startswith("t.yml") and "situations.claim.derive.days_past_window" in message
    assert "company fact" in refused("claim:\n  derive: {order_value: '3'}\n")
    assert "only a number can be derived" in refused("claim:\n  derive: {fault: '3'}\n")


# -- reading answers by type -----------------------------------------------------------------------
def spec(name: str):
    return catalog("claim:\n").facts[name]


def read(name: str, text: str, *, asked: bool = True):
    return read_fact(
        spec(name) if name in ("fault", "months_owned", "repair_cost") else RETAIL.facts[name],
        extract(text),
        text,
        asked=asked,
    )


def test_money_is_read_as_an_amount_and_a_price_drop_as_a_difference():
    assert read("disputed_amount", "it was $35.50") == "35.50"
    assert read("disputed_amount", "about two hundred dollars") == "200.00"
    assert read("price_difference", "I paid 349 and now it's 299") == "50"
    assert read("disputed_amount", "order MG-10422", asked=True) is None  # an order number is not a sum


def test_hours_read_days_and_a_bare_number_only_when_asked():
    assert read("outage_hours", "a couple of days") == "48"
    assert read("outage_hours", "6 hours") == "6"
    assert read("outage_hours", "5") == "5" and read("outage_hours", "5", asked=False) is None


def test_enums_match_whatever_the_case_and_refuse_two_answers():
    assert read("fault", "the screen is CRACKED SCREEN now") == "Cracked Screen"
    assert read("fault", "it just stopped working") == "stopped working"
    assert read("fault", "stopped working and cracked screen") is None
    assert read("fault", "no idea") is None


def test_a_bare_whole_number_counts_only_as_the_answer_to_its_question():
    assert read("months_owned", "about 14") == "14" and read("months_owned", "14", asked=False) is None
    assert read("months_owned", "between 10 and 14") is None


def test_answers_are_checked_as_the_fact():
    assert parse_fact(RETAIL.facts["outage_hours"], "30") == "30"
    with pytest.raises(CaseError, match="outage_hours must be between 0"):
        parse_fact(RETAIL.facts["outage_hours"], "99999999")
    with pytest.raises(CaseError, match="disputed_amount must be an amount of money"):
        parse_fact(RETAIL.facts["disputed_amount"], "a lot")


def test_the_opening_message_fills_only_the_first_money_fact_it_asks():
    slots = opening_slots(
        RETAIL,
        "price_drop",
        extract("Order MG-10431: I paid 349 and now it's 299"),
        "Order MG-10431: I paid 349 and now it's 299",
    )
    assert slots["order_id"] == "MG-10431" and slots["price_difference"] == "50"
    assert slots["disputed_amount"] is None  # another situation's fact is cleared, not filled


# -- a remedy new to the catalog -------------------------------------------------------------------
def test_a_remedy_added_by_data_is_said_in_the_catalogs_words_and_picked_by_its_name():
    from decimal import Decimal

    from makegood.policy import Option, Tier
    from makegood.services.bot.phrasing import describe
    from makegood.services.bot.reading import read_reply

    repair = Option("warranty_repair", "item", None, Decimal(40), Tier.SELF_SERVICE, "w.r", "w.r.caps", "pv")
    assert describe(repair, "a free repair under warranty") == "a free repair under warranty"
    assert describe(repair) == "warranty repair"  # no catalog words: its id, never "$0.00"
    assert describe(repair, "a {strange} repair") == "a {strange} repair"  # braces are words, not a template
    menu = [{"remedy": "warranty_repair", "size": None}, {"remedy": "replacement", "size": "349"}]
    assert read_reply("the repair please", menu).index == 0
    assert read_reply("no repair, a replacement", menu).index == 1
