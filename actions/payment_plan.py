from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.glue import assistant, graceful, speak, turn_of
from actions.unopened import before_reply
from makegood.services.bot.case_facts import weekly_amount


class ActionPlanPayment(Action):
    """The customer's answer to "How much can you afford each week?", turned into a plan."""

    def name(self) -> str:
        return "action_plan_payment"

    @graceful
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
        turn = turn_of(tracker)
        weekly = weekly_amount(turn.entities)
        asked = before_reply(dispatcher, tracker, domain)
        if asked is not None:
            return asked
        return speak(dispatcher, assistant().plan(turn, weekly), domain)
