from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction

from actions.glue import assistant, entities_of, turn_of
from makegood.assistant.case_facts import (
    MONEY_SLOTS,
    SignInNeeded,
    asked_amount,
    gave_up,
    order_in_text,
    parse_slot,
    slots_to_ask,
    value_for_slot,
)
from makegood.errors import MakegoodError
from makegood.services.bootstrap import get_services


def slots_for(situation: str | None, misses: object = 0) -> list[str]:
    if gave_up(misses):
        return []  # the form ends; action_propose_resolution hands the case over
    if not situation:
        return ["order_id"]
    return slots_to_ask(get_services().catalog, situation, misses)


class ValidateCaseForm(FormValidationAction):
    """Asks only for what the policy needs in this situation; validates each answer
    against the customer store (order numbers) and the money rules (amounts)."""

    def name(self) -> str:
        return "validate_case_form"

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[str]:
        try:
            asked = slots_for(tracker.get_slot("situation"), tracker.get_slot("fact_misses"))
            if (
                asked
                and "order_id" not in asked
                and (tracker.get_slot("order_id") or any(e.entity == "order_id" for e in entities_of(tracker)))
            ):
                # Not asked for here (nothing to look up), but an order number the customer gives
                # is taken and checked like any other: facts in any order.
                asked = asked + ["order_id"]
            return asked
        except Exception:  # noqa: BLE001 - catalog unavailable: ask for the order, a person will follow up
            return ["order_id"]

    async def extract_order_id(self, dispatcher, tracker, domain):
        return self._extract("order_id", tracker)

    async def extract_disputed_amount(self, dispatcher, tracker, domain):
        return self._extract("disputed_amount", tracker)

    async def extract_debt_amount(self, dispatcher, tracker, domain):
        return self._extract("debt_amount", tracker)

    async def extract_price_difference(self, dispatcher, tracker, domain):
        return self._extract("price_difference", tracker)

    async def extract_outage_hours(self, dispatcher, tracker, domain):
        return self._extract("outage_hours", tracker)

    def _extract(self, slot: str, tracker: Tracker) -> dict[str, Any]:
        if tracker.get_slot(slot) is not None:
            return {}
        # An order number is unmistakable, so it is taken whenever it comes (facts in any order);
        # a bare amount fills only the slot we asked for.
        if tracker.get_slot("requested_slot") != slot and slot != "order_id":
            return {}
        if slot == "order_id" and tracker.get_slot("requested_slot") != slot:
            value = value_for_slot(slot, entities_of(tracker))
            return {slot: value} if value is not None else {}
        value = value_for_slot(slot, entities_of(tracker))
        text = (tracker.latest_message or {}).get("text") or ""
        if value is None and slot == "order_id":  # asked for the number, the customer typed it bare
            value = order_in_text(text)
        if (
            value is None
            and slot in MONEY_SLOTS
            and not any(e.entity in ("order_id", "duration_days", "duration_hours") for e in entities_of(tracker))
        ):
            # Asked for a sum: "about 250", "two hundred". An order number or "3 days" is not one.
            try:
                value = asked_amount([], text)[0]
            except MakegoodError:
                value = None
        return {slot: value} if value is not None else {}

    async def validate_order_id(self, value, dispatcher, tracker, domain):
        try:
            order_id = parse_slot("order_id", value)
            if assistant().order_owner(turn_of(tracker), order_id) is None:
                return self._missed("order_id", tracker, dispatcher, "utter_order_not_found", order_id=order_id)
        except SignInNeeded:
            return self._missed("order_id", tracker, dispatcher, "utter_sign_in_for_orders")
        except MakegoodError:
            return self._missed("order_id", tracker, dispatcher, "utter_order_not_found", order_id=str(value)[:40])
        return {"order_id": order_id}

    @staticmethod
    def _missed(
        slot: str, tracker: Tracker, dispatcher: CollectingDispatcher, response: str, **values: Any
    ) -> dict[str, Any]:
        """One retry; after that the form stops asking and the case goes to a person."""
        misses = int(float(tracker.get_slot("fact_misses") or 0)) + 1
        if not gave_up(misses):
            dispatcher.utter_message(response=response, **values)
        return {slot: None, "fact_misses": float(misses)}

    async def validate_disputed_amount(self, value, dispatcher, tracker, domain):
        return self._money("disputed_amount", value, dispatcher, tracker)

    async def validate_debt_amount(self, value, dispatcher, tracker, domain):
        return self._money("debt_amount", value, dispatcher, tracker)

    async def validate_price_difference(self, value, dispatcher, tracker, domain):
        return self._money("price_difference", value, dispatcher, tracker)

    async def validate_outage_hours(self, value, dispatcher, tracker, domain):
        try:
            return {"outage_hours": str(parse_slot("outage_hours", value))}
        except MakegoodError:
            return self._missed("outage_hours", tracker, dispatcher, "utter_duration_not_understood")

    def _money(self, slot: str, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker) -> dict[str, Any]:
        try:
            return {slot: str(parse_slot(slot, value))}
        except MakegoodError:
            return self._missed(slot, tracker, dispatcher, "utter_amount_not_understood")
