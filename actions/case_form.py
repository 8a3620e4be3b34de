from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction

from actions.glue import entities_of
from makegood.assistant.case_facts import parse_slot, slots_to_ask, value_for_slot
from makegood.assistant.services import get_services
from makegood.errors import MakegoodError


def slots_for(situation: Optional[str]) -> List[Text]:
    if not situation:
        return ["order_id"]
    return slots_to_ask(get_services().catalog, situation)


class ValidateCaseForm(FormValidationAction):
    """Asks only for what the policy needs in this situation; validates each answer
    against the customer store (order numbers) and the money rules (amounts)."""

    def name(self) -> Text:
        return "validate_case_form"

    async def required_slots(self, domain_slots: List[Text], dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: Dict[Text, Any]) -> List[Text]:
        try:
            return slots_for(tracker.get_slot("situation"))
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
        if tracker.get_slot("requested_slot") != slot or tracker.get_slot(slot) is not None:
            return {}
        value = value_for_slot(slot, entities_of(tracker))
        return {slot: value} if value is not None else {}

    async def validate_order_id(self, value, dispatcher, tracker, domain):
        try:
            order_id = parse_slot("order_id", value)
            if get_services().customers.find_customer_by_order(order_id) is None:
                dispatcher.utter_message(response="utter_order_not_found", order_id=order_id)
                return {"order_id": None}
        except MakegoodError:
            dispatcher.utter_message(response="utter_order_not_found", order_id=str(value)[:40])
            return {"order_id": None}
        return {"order_id": order_id}

    async def validate_disputed_amount(self, value, dispatcher, tracker, domain):
        return self._money("disputed_amount", value, dispatcher)

    async def validate_debt_amount(self, value, dispatcher, tracker, domain):
        return self._money("debt_amount", value, dispatcher)

    async def validate_price_difference(self, value, dispatcher, tracker, domain):
        return self._money("price_difference", value, dispatcher)

    async def validate_outage_hours(self, value, dispatcher, tracker, domain):
        try:
            return {"outage_hours": str(parse_slot("outage_hours", value))}
        except MakegoodError:
            dispatcher.utter_message(response="utter_duration_not_understood")
            return {"outage_hours": None}

    def _money(self, slot: str, value: Any, dispatcher: CollectingDispatcher) -> Dict[Text, Any]:
        try:
            return {slot: str(parse_slot(slot, value))}
        except MakegoodError:
            dispatcher.utter_message(response="utter_amount_not_understood")
            return {slot: None}
