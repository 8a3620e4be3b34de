"""The case form: asks for what the catalog says the situation needs, reads each answer by
its fact's type, and checks it. No fact is named here: a situation added to the catalog (with
a slot for each fact it asks) is asked about, read and validated the same way.

One call does a whole case turn: the form's validation opens the case when the message
describes one (the rule that opens it is: intent, apology, case_form), validates what the
message gave, and, once nothing is missing, asks the engine and says the offers. So a case
opening costs one Rasa -> actions round trip, and so does the answer that completes the form
(it used to be three: start the case, validate, propose)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import REQUESTED_SLOT, FormValidationAction

from actions.case_opening import opening_events
from actions.glue import assistant, entities_of, log, off_loop, saved_for_a_person, speak, turn_of
from makegood.errors import MakegoodError
from makegood.services.bootstrap import get_services
from makegood.services.bot.case_facts import (
    ORDER_ID,
    SignInNeeded,
    gave_up,
    order_in,
    order_in_text,
    parse_order_id,
    slots_to_ask,
)
from makegood.services.bot.fact_reading import parse_fact, read_fact

# What the bot says when an answer cannot be read as the fact's type.
NOT_UNDERSTOOD = {"money": "utter_amount_not_understood", "hour": "utter_duration_not_understood"}
NOT_UNDERSTOOD_OTHERWISE = "utter_answer_not_understood"


def slots_for(situation: str | None, misses: object = 0) -> list[str]:
    if gave_up(misses):
        return []  # the form ends and hands the case over (proposed())
    if not situation:
        return [ORDER_ID]
    return slots_to_ask(get_services().catalog, situation, misses)


class ValidateCaseForm(FormValidationAction):
    """Asks only for what the policy needs in this situation; validates each answer
    against the customer store (order numbers) and the fact's type (everything else)."""

    def name(self) -> str:
        return "validate_case_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
        return await off_loop(self._case_turn, dispatcher, tracker, domain)

    async def _case_turn(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict]:
        opened = opening_events(tracker) if opens_case(tracker) else []
        tracker.slots.update({e["name"]: e["value"] for e in opened})
        # The facts the message gave are validated like any answer (an order we cannot find);
        # a slot the opening clears is not an answer to validate.
        tracker.add_slots([e for e in opened if e.get("value") is not None])
        events = opened + await super().run(dispatcher, tracker, domain)  # leaves tracker's slots updated
        if form_complete(events):
            events += proposed(dispatcher, tracker, domain)
        return events

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[str]:
        try:
            asked = slots_for(tracker.get_slot("situation"), tracker.get_slot("fact_misses"))
            if asked and ORDER_ID not in asked and (tracker.get_slot(ORDER_ID) or order_in(entities_of(tracker))):
                # Not asked for here (nothing to look up), but an order number the customer gives
                # is taken and checked like any other: facts in any order.
                asked = asked + [ORDER_ID]
            return asked
        except Exception:  # noqa: BLE001 - catalog unavailable: ask for the order, a person will follow up
            return [ORDER_ID]

    async def next_requested_slot(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any] | None:
        """The next slot to ask for, always said explicitly (`None` when nothing is missing: the
        form ends and this call proposes). A catalog fact is asked here, in the catalog's words
        (Rasa asks `utter_ask_<slot>` itself, and a catalog fact has none)."""
        required = await self.required_slots(self.domain_slots(domain), dispatcher, tracker, domain)
        slot = next((name for name in required if tracker.slots.get(name) is None), None)
        if slot and slot != ORDER_ID:
            question = get_services().catalog.question(tracker.get_slot("situation"), slot)
            if question:
                dispatcher.utter_message(text=question)
        return SlotSet(REQUESTED_SLOT, slot)

    def __getattr__(self, name: str) -> Callable[..., Awaitable[dict[str, Any]]]:
        # extract_<fact> and validate_<fact> for every fact the catalog asks, found by rasa_sdk
        # with getattr: one generic pair instead of a method per fact.
        for prefix, make in (("extract_", self._extractor), ("validate_", self._validator)):
            if name.startswith(prefix):
                fact = name[len(prefix) :]
                if fact in get_services().catalog.askable_facts():
                    return make(fact)
        raise AttributeError(name)

    def _extractor(self, fact: str) -> Callable[..., Awaitable[dict[str, Any]]]:
        async def extract(dispatcher, tracker, domain):
            if tracker.get_slot(fact) is not None or tracker.get_slot(REQUESTED_SLOT) != fact:
                return {}  # a bare answer fills only the slot we asked for
            spec = get_services().catalog.facts[fact]
            text = (tracker.latest_message or {}).get("text") or ""
            try:
                value = read_fact(spec, entities_of(tracker), text, asked=True)
            except MakegoodError:
                value = None
            return {fact: value} if value is not None else {}

        return extract

    def _validator(self, fact: str) -> Callable[..., Awaitable[dict[str, Any]]]:
        async def validate(value, dispatcher, tracker, domain):
            spec = get_services().catalog.facts[fact]
            try:
                return {fact: parse_fact(spec, value)}
            except MakegoodError:
                response = NOT_UNDERSTOOD.get(spec.type, NOT_UNDERSTOOD_OTHERWISE)
                return self._missed(fact, tracker, dispatcher, response)

        return validate

    async def extract_order_id(self, dispatcher, tracker, domain):
        if tracker.get_slot(ORDER_ID) is not None:
            return {}
        # An order number is unmistakable, so it is taken whenever it comes (facts in any order);
        # typed bare ("10422") it counts only when we asked for it.
        value = order_in(entities_of(tracker))
        if value is None and tracker.get_slot(REQUESTED_SLOT) == ORDER_ID:
            value = order_in_text((tracker.latest_message or {}).get("text") or "")
        return {ORDER_ID: value} if value is not None else {}

    async def validate_order_id(self, value, dispatcher, tracker, domain):
        try:
            order_id = parse_order_id(value)
            if assistant().order_owner(turn_of(tracker), order_id) is None:
                return self._missed(ORDER_ID, tracker, dispatcher, "utter_order_not_found", order_id=order_id)
        except SignInNeeded:
            return self._missed(ORDER_ID, tracker, dispatcher, "utter_sign_in_for_orders")
        except MakegoodError:
            return self._missed(ORDER_ID, tracker, dispatcher, "utter_order_not_found", order_id=str(value)[:40])
        return {ORDER_ID: order_id}

    @staticmethod
    def _missed(
        slot: str, tracker: Tracker, dispatcher: CollectingDispatcher, response: str, **values: Any
    ) -> dict[str, Any]:
        """One retry; after that the form stops asking and the case goes to a person."""
        misses = int(float(tracker.get_slot("fact_misses") or 0)) + 1
        if not gave_up(misses):
            dispatcher.utter_message(response=response, **values)
        return {slot: None, "fact_misses": float(misses)}


def opens_case(tracker: Tracker) -> bool:
    """Whether this call follows the rule that opens a case (an action since the customer's
    message: the apology, or the clarifying question's answer) rather than the form asking on
    after the customer answered it. Mid-form, a message describing a situation is left to the
    form's rejection and then the opening rule, which apologises first."""
    events = tracker.events or []
    since = next((i for i in range(len(events) - 1, -1, -1) if events[i].get("event") == "user"), -1)
    ran = [e.get("name") for e in events[since + 1 :] if e.get("event") == "action"]
    return any(name not in FORM_OWN_STEPS for name in ran)


FORM_OWN_STEPS = ("case_form", "action_listen", "action_extract_slots")


def form_complete(events: list[dict[str, Any]]) -> bool:
    asked = [e for e in events if e.get("event") == "slot" and e.get("name") == REQUESTED_SLOT]
    return bool(asked) and asked[-1].get("value") is None


def proposed(dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
    """Solve: ask the engine what the bot may offer, log it, say it best first (or hand the
    case over when a fact could not be had)."""
    try:
        return speak(dispatcher, assistant().propose(turn_of(tracker)), domain)
    except Exception:  # noqa: BLE001 - the customer must never see a crash (logged with its traceback)
        log.exception("proposing failed for conversation %s", tracker.sender_id)
    return saved_for_a_person(dispatcher, tracker, "proposing a resolution")
