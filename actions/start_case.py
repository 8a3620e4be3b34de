from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.glue import entities_of, graceful
from makegood.nlp import extract
from makegood.assistant.case_facts import opening_slots
from makegood.services.bootstrap import get_services


class ActionStartCase(Action):
    """Open a case for the situation the customer described, keeping facts they gave in the
    same breath (an order number, an amount) so the form does not ask for them again."""

    def name(self) -> Text:
        return "action_start_case"

    @graceful
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if intent not in get_services().catalog.situation_ids:
            return []
        slots = opening_slots(get_services().catalog, intent, opening_entities(tracker))
        if intent == tracker.get_slot("situation") and tracker.get_slot("stage") not in ("resolved", "handed_off"):
            # The same problem described again mid-case: keep what we already know.
            return [SlotSet(k, v) for k, v in slots.items() if v is not None]
        return ([SlotSet("situation", intent), SlotSet("stage", None), SlotSet("fact_misses", None)]
                + [SlotSet(k, v) for k, v in slots.items()])


def opening_entities(tracker: Tracker) -> list:
    """The facts of the message that opened the case. A button's payload ("/late_delivery",
    from a clarifying question) carries none: then they are in the message before it."""
    found = entities_of(tracker)
    text = str((tracker.latest_message or {}).get("text") or "")
    if found or not text.startswith("/"):
        return found
    said = [e.get("text") or "" for e in tracker.events or [] if e.get("event") == "user"]
    earlier = [t for t in said[:-1] if t and not t.startswith("/")]
    return extract(earlier[-1]) if earlier else []
