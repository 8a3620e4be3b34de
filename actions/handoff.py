from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.glue import assistant, graceful, speak, turn_of


class ActionHandoff(Action):
    """A person takes over: the context packet goes to the ledger, the conversation pauses."""

    def name(self) -> Text:
        return "action_handoff"

    @graceful
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict]:
        return speak(dispatcher, assistant().handoff(turn_of(tracker)))
