from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.glue import assistant, graceful, speak, turn_of


class ActionHandoff(Action):
    """A person takes over: the context packet goes to the ledger, the conversation pauses."""

    def name(self) -> str:
        return "action_handoff"

    @graceful
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
        return speak(dispatcher, assistant().handoff(turn_of(tracker)), domain)
