"""A case turn is one call to the actions server: the case form opens the case, validates
what the message gave and, once nothing is missing, proposes; and no action blocks the
server's event loop while it waits on the database or the engine."""

from __future__ import annotations

import asyncio
import threading

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.case_form import ValidateCaseForm, opens_case
from actions.resolution import ActionAcceptOffer
from makegood.services.bot.resolution import Assistant
from tests.actions.conftest import opened, run, said, tracker

pytestmark = pytest.mark.actions


def slots_of(events: list[dict]) -> dict:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def test_a_message_with_every_fact_opens_the_case_and_gets_offers_in_one_call(services, domain):
    trk = opened(tracker(text="the dinner set from order MG-10422 arrived smashed to pieces", intent="damaged_item"))
    messages, events = run(ValidateCaseForm(), trk, domain)
    slots = slots_of(events)
    assert slots["situation"] == "damaged_item" and slots["order_id"] == "MG-10422"
    assert slots["requested_slot"] is None and slots["stage"] == "offered"
    assert said(messages)[0] == "utter_offer_intro"
    [logged] = services.ledger.list(conversation_id="conv-1")
    assert logged.situation == "damaged_item" and logged.status == "offered"


def test_a_message_without_the_facts_opens_the_case_and_asks_for_them(services, domain):
    trk = opened(tracker(text="my parcel never came", intent="lost_package"))
    messages, events = run(ValidateCaseForm(), trk, domain)
    slots = slots_of(events)
    assert slots["situation"] == "lost_package" and slots["requested_slot"] == "order_id"
    assert slots.get("stage") is None and services.ledger.list(conversation_id="conv-1") == []
    assert said(messages) == []  # Rasa says utter_ask_order_id for the requested slot


def test_the_answer_that_completes_the_form_gets_the_offers_in_the_same_call(services, domain):
    trk = tracker(
        text="it's MG-10422", intent="inform", slots={"situation": "damaged_item", "requested_slot": "order_id"}
    )
    messages, events = run(ValidateCaseForm(), trk, domain)
    assert slots_of(events)["order_id"] == "MG-10422" and slots_of(events)["stage"] == "offered"
    assert said(messages)[0] == "utter_offer_intro"


def test_only_the_opening_rule_opens_a_case_not_the_form_asking_on():
    after_apology = opened(tracker(text="it arrived broken", intent="damaged_item"))
    assert opens_case(after_apology)
    mid_form = tracker(text="it arrived broken", intent="damaged_item", slots={"requested_slot": "order_id"})
    mid_form.events.append({"event": "action", "name": "case_form"})
    assert not opens_case(mid_form)


def test_actions_wait_on_the_database_off_the_event_loop_and_side_by_side(services, domain, monkeypatch):
    """Two conversations' turns that each block (as a slow database would) run at the same time
    on the pool, never on the loop: each waits at a barrier the other must reach too, which a
    server running them one after another on its loop would never do."""
    barrier = threading.Barrier(2, timeout=10)
    threads: list[threading.Thread] = []
    loop_thread: list[threading.Thread] = []
    real = Assistant.accept

    def slow_accept(self, turn):
        threads.append(threading.current_thread())
        barrier.wait()  # BrokenBarrierError if the other turn cannot run meanwhile
        return real(self, turn)

    monkeypatch.setattr(Assistant, "accept", slow_accept)

    def picking(sender: str):
        return tracker(sender=sender, text="the store credit", intent="choose_option", user_turns=2)

    async def both():
        loop_thread.append(threading.current_thread())
        return await asyncio.gather(
            *(ActionAcceptOffer().run(CollectingDispatcher(), picking(s), domain) for s in ("conv-a", "conv-b"))
        )

    asyncio.run(both())
    assert len(threads) == 2 and threads[0] is not threads[1]
    assert loop_thread[0] not in threads
