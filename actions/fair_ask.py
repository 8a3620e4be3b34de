from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.glue import assistant, graceful, speak, turn_of
from actions.unopened import before_reply
from makegood.services.bot.case_facts import asked_amount


class ActionJudgeAsk(Action):
    """The customer's answer to "What do you think would be fair?", judged by the engine."""

    def name(self) -> str:
        return "action_judge_ask"

    @graceful
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
        turn = turn_of(tracker)
        amount, percent = asked_amount(turn.entities, turn.text)
        asked = before_reply(dispatcher, tracker, domain)
        if asked is not None:
            return asked
        return speak(dispatcher, assistant().judge(turn, amount, percent), domain)
