"""Case flows that never stall: an order we cannot find gets one retry, then a person; a bare
number is an order number when that is what we asked for; an order number given outside the
form still gets the offer."""

from __future__ import annotations

import asyncio

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.case_form import ValidateCaseForm
from actions.resolution import ActionAcceptOffer, ActionProposeResolution
from makegood.assistant.case_facts import order_in_text
from tests.actions.conftest import run, said, tracker

pytestmark = pytest.mark.actions


def form_turn(text: str, *, misses=None, situation="damaged_item") -> Tracker:
    trk = tracker(text=text, intent="inform", slots={"situation": situation, "requested_slot": "order_id",
                                                     "fact_misses": misses})
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
    assert said(messages) == []  # no third ask: the form ends
    assert slots["fact_misses"] == 2 and slots["requested_slot"] is None


def test_after_two_misses_the_case_goes_to_a_person_with_everything_said(services, domain):
    messages, events = run(ActionProposeResolution(), tracker(slots={"situation": "damaged_item",
                                                                     "fact_misses": 2.0}), domain)
    assert said(messages) == ["utter_handoff"]
    assert any(e.get("event") == "pause" for e in events)
    [pending] = [p for p in services.ledger.list(conversation_id="conv-1") if p.status == "pending"]
    assert pending.context["reason"] == "the customer could not give an order number we could find"
    assert pending.tier_required == "agent"


@pytest.mark.parametrize("text, order", [("10422", "MG-10422"), ("it's 10 422", "MG-10422"),
                                         ("mg 10422 please", "MG-10422"), ("$10422", None),
                                         ("10422 or 10431", None), ("1042", None)])
def test_a_bare_number_reads_as_the_order_number(text, order):
    assert order_in_text(text) == order


def test_a_bare_order_number_fills_the_form_when_asked_for_one(services, domain):
    _, slots = validate(form_turn("10422"), domain)
    assert slots["order_id"] == "MG-10422"


def test_an_order_number_outside_the_form_gets_the_offer_not_no_open_case(services, domain):
    messages, _ = run(ActionAcceptOffer(), tracker(text="MG-10422", intent="inform",
                                                   slots={"situation": "damaged_item", "order_id": "MG-10422"}),
                      domain)
    assert "utter_nothing_open" not in said(messages)
    assert said(messages)[0] == "utter_offer_intro"
