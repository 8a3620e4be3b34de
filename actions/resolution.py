from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.glue import assistant, graceful, speak, turn_of
from actions.unopened import before_reply


class ActionAcceptOffer(Action):
    """The customer says yes, or names the option they want."""

    def name(self) -> str:
        return "action_accept_offer"

    @graceful
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
        asked = before_reply(dispatcher, tracker, domain)
        if asked is not None:
            return asked
        return speak(dispatcher, assistant().accept(turn_of(tracker)), domain)


class ActionDeclineOffer(Action):
    """The customer says no: three other options first, a person after that."""

    def name(self) -> str:
        return "action_decline_offer"

    @graceful
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
        asked = before_reply(dispatcher, tracker, domain, declining=True)
        if asked is not None:
            return asked
        return speak(dispatcher, assistant().decline(turn_of(tracker)), domain)


class ActionReadReply(Action):
    """A message the NLU could not place, read against what is on the table: the open offer
    ("Yes, the refund, thank you."), or the clarifying question. Only when it answers neither
    does the customer hear "Could you say it another way?"."""

    def name(self) -> str:
        return "action_read_reply"

    @graceful
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
        if not tracker.get_slot("situation") and tracker.get_slot("clarify_options"):
            asked = before_reply(dispatcher, tracker, domain)
            if asked is not None:
                return asked
        reply = assistant().respond(turn_of(tracker)) if tracker.get_slot("situation") else None
        if reply is None:
            dispatcher.utter_message(response="utter_default")
            return []
        return speak(dispatcher, reply, domain)
