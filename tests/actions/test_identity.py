"""Whose chat is it: in the production default ("required") a chat sees orders only of the
customer its signed token names; another customer's order is answered like one that does not
exist, an anonymous chat is asked to sign in, and nothing in the conversation can rebind it."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest

from actions.case_form import ValidateCaseForm
from actions.glue import customer_of
from actions.payment_plan import ActionPlanPayment
from actions.resolution import ActionAcceptOffer
from makegood.customers.identity import sign
from tests.actions.conftest import SECRET, run, said, tracker


@pytest.fixture
def required(services):
    """The wiring as a real deployment runs it."""
    from makegood.services.bootstrap import set_services

    wired = replace(services, chat_identity="required")
    set_services(wired)
    return wired


def as_customer(customer_id: str) -> dict:
    return {"customer_token": sign(customer_id, SECRET)}


def slots_of(events) -> dict:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


DAMAGED = {"situation": "damaged_item", "damage_severity": "unusable", "order_id": "MG-10422"}


def test_a_signed_in_customer_gets_options_for_their_own_order(required, domain):
    messages, _ = run(ValidateCaseForm(), tracker(slots=DAMAGED, metadata=as_customer("C-1001")), domain)
    assert "utter_offer_intro" in said(messages)
    [proposal] = required.ledger.list(conversation_id="conv-1")
    assert proposal.customer_id == "C-1001"


def test_another_customers_order_is_answered_like_one_that_does_not_exist_and_logged(required, domain, caplog):
    caplog.set_level(logging.WARNING, logger="makegood.security")
    theirs, _ = run(ValidateCaseForm(), tracker(slots=DAMAGED, metadata=as_customer("C-1003")), domain)
    missing = {**DAMAGED, "order_id": "MG-99999"}
    nobody, _ = run(ValidateCaseForm(), tracker(slots=missing, metadata=as_customer("C-1003")), domain)
    assert said(theirs) == said(nobody) == ["utter_order_not_found"]
    assert required.ledger.list(conversation_id="conv-1") == []  # nothing about C-1001 was logged either
    assert any("MG-10422" in r.getMessage() and "C-1003" in r.getMessage() for r in caplog.records)


def test_the_form_refuses_another_customers_order_the_same_way(required, domain):
    form = ValidateCaseForm()
    trk = tracker(slots={"situation": "damaged_item"}, metadata=as_customer("C-1003"))
    import asyncio

    from rasa_sdk.executor import CollectingDispatcher

    dispatcher = CollectingDispatcher()
    result = asyncio.run(form.validate_order_id("MG-10422", dispatcher, trk, domain))
    assert result["order_id"] is None
    assert [m["response"] for m in dispatcher.messages] == ["utter_order_not_found"]
    dispatcher = CollectingDispatcher()
    own = asyncio.run(form.validate_order_id("MG-10441", dispatcher, trk, domain))
    assert own == {"order_id": "MG-10441"}


def test_an_anonymous_chat_is_asked_to_sign_in_and_sees_nothing_of_the_order(required, domain):
    messages, _ = run(ValidateCaseForm(), tracker(slots=DAMAGED), domain)
    assert said(messages) == ["utter_sign_in_for_orders"]
    assert required.ledger.list(conversation_id="conv-1") == []


@pytest.mark.parametrize(
    "token",
    [
        sign("C-1001", "some-other-secret-entirely"),  # forged: signed with another key
        sign("C-1001", SECRET, now=0),  # expired long ago
        "v1.eyJzdWIiOiJDLTEwMDEiLCJleHAiOjk5OTk5OTk5OTl9.AAAA",  # payload edited, signature not
        "not a token",
    ],
)
def test_a_forged_or_expired_token_leaves_the_chat_anonymous(required, domain, token):
    trk = tracker(slots=DAMAGED, metadata={"customer_token": token})
    assert customer_of(trk) is None
    messages, _ = run(ValidateCaseForm(), trk, domain)
    assert said(messages) == ["utter_sign_in_for_orders"]


def test_a_later_token_for_someone_else_cannot_rebind_the_chat(required, domain, caplog):
    first = tracker(slots=DAMAGED, metadata=as_customer("C-1001"), user_turns=2)
    # The latest message carries another customer's valid token: the first one still binds.
    data = first.current_state()
    data["latest_message"]["metadata"] = as_customer("C-1003")
    data["events"][-1]["metadata"] = as_customer("C-1003")
    from rasa_sdk import Tracker

    moved = Tracker.from_dict(data)
    caplog.set_level(logging.WARNING, logger="makegood.actions")
    assert customer_of(moved) == "C-1001"
    assert any("C-1003" in r.getMessage() for r in caplog.records)


def test_typed_intent_syntax_cannot_name_a_customer(required, domain):
    # "/report_damage{"customer_id": "C-1003", "order_id": "MG-10441"}": entities are not identity.
    trk = tracker(
        text='/report_damage{"customer_id": "C-1003", "order_id": "MG-10441"}',
        slots={**DAMAGED, "order_id": "MG-10441"},
        entities=[{"entity": "customer_id", "value": "C-1003"}, {"entity": "order_id", "value": "MG-10441"}],
        metadata=as_customer("C-1001"),
    )
    messages, _ = run(ValidateCaseForm(), trk, domain)
    assert said(messages) == ["utter_order_not_found"]


def test_a_signed_in_customer_is_granted_a_plan_without_being_asked_for_an_account(required, domain):
    me = as_customer("C-1001")
    slots = {"situation": "missed_payment", "debt_amount": "300"}
    messages, events = run(ValidateCaseForm(), tracker(slots=slots, metadata=me), domain)
    assert said(messages) == ["utter_ask_affordability"]
    slots.update(slots_of(events))
    messages, events = run(
        ActionPlanPayment(),
        tracker(
            text="I could do 50 a week",
            intent="afford_amount",
            slots=slots,
            user_turns=2,
            entities=[{"entity": "amount", "value": "50.00"}, {"entity": "frequency", "value": "weekly"}],
            metadata=me,
        ),
        domain,
    )
    assert said(messages) == ["utter_plan_accepted"]
    slots.update(slots_of(events))
    messages, _ = run(
        ActionAcceptOffer(), tracker(text="yes", intent="affirm", slots=slots, user_turns=3, metadata=me), domain
    )
    assert said(messages) == ["utter_resolution_confirmed", "utter_thank_customer"]
    [granted] = [p for p in required.ledger.list(conversation_id="conv-1") if p.status == "accepted"]
    assert granted.customer_id == "C-1001"
