from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction

from actions.glue import entities_of
from makegood.assistant.case_facts import gave_up, order_in_text, parse_slot, slots_to_ask, value_for_slot
from makegood.services.bootstrap import get_services
from makegood.errors import MakegoodError


def slots_for(situation: Optional[str], misses: object = 0) -> List[Text]:
    if gave_up(misses):
        return []  # the form ends; action_propose_resolution hands the case over
    if not situation:
        return ["order_id"]
    return slots_to_ask(get_services().catalog, situation, misses)


class ValidateCaseForm(FormValidationAction):
    """Asks only for what the policy needs in this situation; validates each answer
    against the customer store (order numbers) and the money rules (amounts)."""

    def name(self) -> Text:
        return "validate_case_form"

    async def required_slots(self, domain_slots: List[Text], dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: Dict[Text, Any]) -> List[Text]:
        try:
            return slots_for(tracker.get_slot("situation"), tracker.get_slot("fact_misses"))
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

    def _extract(self, slot: str, tracker: Tracker) -> Dict[Text, Any]:
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
        if value is None and slot == "order_id":  # asked for the number, the customer typed it bare
            value = order_in_text((tracker.latest_message or {}).get("text") or "")
        return {slot: value} if value is not None else {}

    async def validate_order_id(self, value, dispatcher, tracker, domain):
        try:
            order_id = parse_slot("order_id", value)
            if get_services().customers.find_customer_by_order(order_id) is None:
                return self._missed("order_id", tracker, dispatcher, "utter_order_not_found", order_id=order_id)
        except MakegoodError:
            return self._missed("order_id", tracker, dispatcher, "utter_order_not_found", order_id=str(value)[:40])
        return {"order_id": order_id}

    @staticmethod
    def _missed(slot: str, tracker: Tracker, dispatcher: CollectingDispatcher, response: str,
                **values: Any) -> Dict[Text, Any]:
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

    def _money(self, slot: str, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker) -> Dict[Text, Any]:
        try:
            return {slot: str(parse_slot(slot, value))}
        except MakegoodError:
            return self._missed(slot, tracker, dispatcher, "utter_amount_not_understood")
