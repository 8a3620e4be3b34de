from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.glue import entities_of, graceful
from makegood.assistant.case_facts import opening_slots
from makegood.services.bootstrap import get_services
from makegood.policy import SITUATIONS


class ActionStartCase(Action):
    """Open a case for the situation the customer described, keeping facts they gave in the
    same breath (an order number, an amount) so the form does not ask for them again."""

    def name(self) -> Text:
        return "action_start_case"

    @graceful
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if intent not in SITUATIONS:
            return []
        slots = opening_slots(get_services().catalog, intent, entities_of(tracker))
        return ([SlotSet("situation", intent), SlotSet("stage", None), SlotSet("fact_misses", None)]
                + [SlotSet(k, v) for k, v in slots.items()])
