from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.glue import assistant, graceful, speak, turn_of
from actions.unopened import ask_which_situation


class ActionProposeResolution(Action):
    """Solve: ask the engine what the bot may offer, log it, say it best first."""

    def name(self) -> Text:
        return "action_propose_resolution"

    @graceful
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict]:
        return speak(dispatcher, assistant().propose(turn_of(tracker)))


class ActionAcceptOffer(Action):
    """The customer says yes, or names the option they want."""

    def name(self) -> Text:
        return "action_accept_offer"

    @graceful
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict]:
        asked = ask_which_situation(dispatcher, tracker, domain)
        if asked is not None:
            return asked
        return speak(dispatcher, assistant().accept(turn_of(tracker)))


class ActionDeclineOffer(Action):
    """The customer says no: three other options first, a person after that."""

    def name(self) -> Text:
        return "action_decline_offer"

    @graceful
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict]:
        return speak(dispatcher, assistant().decline(turn_of(tracker)))
