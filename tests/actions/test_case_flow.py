"""Case flows that never stall: an order we cannot find gets one retry, then a person; a bare
number is an order number when that is what we asked for; an order number given outside the
form still gets the offer."""

from __future__ import annotations

import asyncio

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.case_form import ValidateCaseForm
from actions.resolution import ActionAcceptOffer
from makegood.services.bot.case_facts import order_in_text
from tests.actions.conftest import opened, run, said, tracker

pytestmark = pytest.mark.actions


def form_turn(text: str, *, misses=None, situation="damaged_item") -> Tracker:
    trk = tracker(
        text=text, intent="inform", slots={"situation": situation, "requested_slot": "order_id", "fact_misses": misses}
    )
    trk.active_loop = {"name": "case_form"}
    return trk


def validate(trk: Tracker, domain) -> tuple[list[dict], dict]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ValidateCaseForm().run(dispatcher, trk, domain))
    return dispatcher.messages, {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def test_an_unknown_order_gets_one_retry_then_the_form_stops_asking(services, domain):
    messages, slots = validate(form_turn("it's MG-55123"), domain)
    assert said(messages) == ["utter_order_not_found"] and messages[0]["order_id"] == "MG-55123"
    assert slots["order_id"] is None and slots["fact_misses"] == 1 and slots["requested_slot"] == "order_id"
    messages, slots = validate(form_turn("MG-55124 then", misses=1.0), domain)
    # No third ask: the form ends, and in the same turn the case goes to a person.
    assert said(messages) == ["utter_handoff"]
    assert slots["fact_misses"] == 2 and slots["requested_slot"] is None and slots["stage"] == "handed_off"


def test_after_two_misses_the_case_goes_to_a_person_with_everything_said(services, domain):
    messages, events = run(ValidateCaseForm(), tracker(slots={"situation": "damaged_item", "fact_misses": 2.0}), domain)
    assert said(messages) == ["utter_handoff"]
    assert any(e.get("event") == "pause" for e in events)
    [pending] = [p for p in services.ledger.list(conversation_id="conv-1") if p.status == "pending"]
    assert pending.context["reason"] == "the customer could not give an order number we could find"
    assert pending.tier_required == "agent"


@pytest.mark.parametrize(
    "text, order",
    [
        ("10422", "MG-10422"),
        ("it's 10 422", "MG-10422"),
        ("mg 10422 please", "MG-10422"),
        ("$10422", None),
        ("10422 or 10431", None),
        ("1042", None),
    ],
)
def test_a_bare_number_reads_as_the_order_number(text, order):
    assert order_in_text(text) == order


def test_a_bare_order_number_fills_the_form_when_asked_for_one(services, domain):
    _, slots = validate(form_turn("10422"), domain)
    assert slots["order_id"] == "MG-10422"


def test_an_order_number_outside_the_form_gets_the_offer_not_no_open_case(services, domain):
    messages, _ = run(
        ActionAcceptOffer(),
        tracker(text="MG-10422", intent="inform", slots={"situation": "damaged_item", "order_id": "MG-10422"}),
        domain,
    )
    assert "utter_nothing_open" not in said(messages)
    assert said(messages)[0] == "utter_offer_intro"


MENU = [
    {"remedy": "partial_refund", "size": "25.00"},
    {"remedy": "store_credit", "size": "30.00"},
    {"remedy": "goodwill_voucher", "size": "10.00"},
]


@pytest.mark.parametrize(
    "text, index",
    [
        ("alright, I'll take the 25 back to my card", 0),
        ("the $30 one", 1),
        ("store credit please", 1),
        ("2", 1),
        ("the last one", 2),
        ("I'd like the refund to my card", 0),
    ],
)
def test_a_pick_names_the_offer_by_number_amount_or_words(text, index):
    from makegood.services.bot.reading import pick

    assert pick(text, MENU) == index


def test_two_offers_named_equally_are_asked_about_not_guessed():
    from makegood.services.bot.reading import pick

    both = [{"remedy": "full_refund", "size": "89.99"}, {"remedy": "partial_refund", "size": "20.00"}]
    assert pick("the refund", both) is None
    assert pick("the full refund please", both) == 0


def test_a_reply_with_no_case_open_asks_which_problem_it_is(services, domain):
    """Found: "order 10441 is two weeks late, I want my 1249 back" read as an amount, and the bot
    answered "I don't have an open case for you yet"."""
    from actions.fair_ask import ActionJudgeAsk

    trk = tracker(text="order 10441 is two weeks late. I want my 1249 dollars back", intent="propose_amount")
    trk.latest_message["intent_ranking"] = [
        {"name": "propose_amount", "confidence": 0.5},
        {"name": "late_delivery", "confidence": 0.3},
        {"name": "lost_package", "confidence": 0.1},
        {"name": "greet", "confidence": 0.1},
    ]
    messages, _ = run(ActionJudgeAsk(), trk, domain)
    assert said(messages) == ["utter_clarify_situation"]
    assert [b["payload"] for b in messages[0]["buttons"]] == ["/late_delivery", "/lost_package"]


def test_a_case_opened_from_a_button_keeps_the_facts_of_the_message_before_it(services, domain):

    trk = tracker(text="/late_delivery", intent="late_delivery", user_turns=2)
    trk.events[0]["text"] = "order 10441 is two weeks late"
    trk.latest_message["entities"] = []
    _, events = run(ValidateCaseForm(), opened(trk), domain)
    slots = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
    assert slots["situation"] == "late_delivery" and slots["order_id"] == "MG-10441"


def test_the_same_problem_described_again_mid_case_keeps_what_we_know(services, domain):

    trk = tracker(
        text="you sent the wrong size",
        intent="wrong_item",
        slots={"situation": "wrong_item", "order_id": "MG-10451", "stage": "offered"},
    )
    _, events = run(ValidateCaseForm(), opened(trk), domain)
    slots = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
    assert "order_id" not in slots and slots.get("stage", "offered") is not None  # nothing cleared


def test_an_order_number_given_while_another_fact_is_asked_is_kept(services, domain):
    trk = tracker(
        text="it was for MG-10431",
        intent="inform",
        slots={"situation": "billing_error", "requested_slot": "disputed_amount"},
    )
    trk.active_loop = {"name": "case_form"}
    _, slots = validate(trk, domain)
    assert slots.get("order_id") == "MG-10431" and slots.get("requested_slot") == "disputed_amount"
