"""Opening a case: the slots a message that describes a situation sets, kept with the facts
it gave in the same breath (an order number, an amount) so the form does not ask again."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.glue import entities_of
from makegood.nlp import extract
from makegood.services.bootstrap import get_services
from makegood.services.bot.case_facts import opening_slots

OPENING_CHARS = 500  # what is kept of the opening message: enough for a demand, never a 100 KB paste


def opening_events(tracker: Tracker) -> list[dict[str, Any]]:
    """The slots of the case the latest message opens: none unless it describes one of the
    catalog's situations. Run by the case form itself, in the same call that validates what
    the message gave and proposes, so opening a case is one Rasa -> actions round trip. Safe
    to apply twice to one message: the second time it is the same problem described again."""
    intent = (tracker.latest_message.get("intent") or {}).get("name")
    if intent not in get_services().catalog.situation_ids:
        return []
    return case_events(tracker, intent, problem_text(tracker))


def case_events(tracker: Tracker, situation: str, text: str) -> list[dict[str, Any]]:
    """The slots of a case opened for `situation` by the message `text`."""
    entities = entities_of(tracker) if text == (tracker.latest_message or {}).get("text") else extract(text)
    slots = opening_slots(get_services().catalog, situation, entities, text)
    if slots.get("order_id") is None and not tracker.get_slot("situation"):
        slots["order_id"] = tracker.get_slot("order_id")  # given before the case opened (while we clarified)
    if situation == tracker.get_slot("situation") and tracker.get_slot("stage") not in ("resolved", "handed_off"):
        # The same problem described again mid-case: keep what we already know.
        return [SlotSet(k, v) for k, v in slots.items() if v is not None] + [SlotSet("clarify_options", None)]
    return [
        SlotSet("situation", situation),
        SlotSet("stage", None),
        SlotSet("fact_misses", None),
        SlotSet("clarify_options", None),
        SlotSet("case_opening", text[:OPENING_CHARS] or None),
    ] + [SlotSet(k, v) for k, v in slots.items()]


def open_case(
    dispatcher: CollectingDispatcher, tracker: Tracker, situation: str, text: str, order_id: str | None = None
) -> list[dict[str, Any]]:
    """Open a case from an action rather than a rule (a typed answer to a clarifying
    question): the same apology, the same slots, then the case form. `order_id`: one the
    latest message gave, when `text` is an earlier message."""
    dispatcher.utter_message(response=f"utter_{situation}_apology")
    kept = [SlotSet("order_id", order_id)] if order_id else []
    return case_events(tracker, situation, text) + kept + [FollowupAction("case_form")]


def problem_text(tracker: Tracker) -> str:
    """The message that described the problem. A button's payload ("/late_delivery", from a
    clarifying question) describes nothing: then it is the customer's message before it."""
    text = str((tracker.latest_message or {}).get("text") or "")
    if text and not text.startswith("/"):
        return text
    return earlier_message(tracker) or text


def earlier_message(tracker: Tracker) -> str | None:
    said = [str(e.get("text") or "") for e in tracker.events or [] if e.get("event") == "user"]
    earlier = [t for t in said[:-1] if t and not t.startswith("/")]
    return earlier[-1] if earlier else None
