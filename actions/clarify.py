"""`action_clarify_situation`: two situations are too close to tell apart, so ask which.

The intent classifier emits `clarify_situation` with the two candidates in the parse data
(`clarify_situation.candidates`). The question offers one button per candidate whose
payload is `/<situation_id>`, so a click is that intent at full confidence and opens the
right case through the ordinary rules. Nothing is opened on a guess: without two valid
candidates the bot asks the customer to say more (`utter_default`).

Wording: `utter_clarify_situation` ("is this about {first}, or {second}?") and one
`utter_<situation>_clarify` per situation (its name in the question and on its button).
"""

from __future__ import annotations

from typing import Any, Collection, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from makegood.services.bootstrap import get_services

CLARIFY_KEY = "clarify_situation"


def candidates_of(latest_message: Dict[Text, Any], situations: Collection[str]) -> List[str]:
    """The two situations to ask about: the classifier's candidates, else the two
    likeliest situations in the intent ranking. Only the catalog's situation ids
    (`situations`) survive."""
    given = (latest_message.get(CLARIFY_KEY) or {}).get("candidates") or []
    if not given:
        ranking = latest_message.get("intent_ranking") or []
        given = [r.get("name") for r in ranking if r.get("name") in situations]
    out: List[str] = []
    for situation in given:
        if situation in situations and situation not in out:
            out.append(situation)
    return out[:2]


def phrase(domain: Dict[Text, Any], situation: str) -> str:
    variants = (domain.get("responses") or {}).get(f"utter_{situation}_clarify") or []
    text: Optional[str] = variants[0].get("text") if variants else None
    return text or situation.replace("_", " ")


class ActionClarifySituation(Action):
    def name(self) -> Text:
        return "action_clarify_situation"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict]:
        candidates = candidates_of(tracker.latest_message or {}, get_services().catalog.situation_ids)
        if len(candidates) < 2:
            dispatcher.utter_message(response="utter_default")
            return []
        first, second = (phrase(domain, s) for s in candidates)
        buttons = [{"title": p[:1].upper() + p[1:], "payload": f"/{s}"}
                   for s, p in zip(candidates, (first, second))]
        dispatcher.utter_message(response="utter_clarify_situation", buttons=buttons, first=first, second=second)
        return []
