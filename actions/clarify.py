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

import re
from collections.abc import Collection
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.case_opening import open_case
from actions.glue import assistant, turn_of
from makegood.services.bootstrap import get_services

CLARIFY_KEY = "clarify_situation"


def candidates_of(latest_message: dict[str, Any], situations: Collection[str]) -> list[str]:
    """The two situations to ask about: the classifier's candidates, else the two
    likeliest situations in the intent ranking. Only the catalog's situation ids
    (`situations`) survive."""
    given = (latest_message.get(CLARIFY_KEY) or {}).get("candidates") or []
    if not given:
        ranking = latest_message.get("intent_ranking") or []
        given = [r.get("name") for r in ranking if r.get("name") in situations]
    out: list[str] = []
    for situation in given:
        if situation in situations and situation not in out:
            out.append(situation)
    return out[:2]


def phrase(domain: dict[str, Any], situation: str) -> str:
    variants = (domain.get("responses") or {}).get(f"utter_{situation}_clarify") or []
    text: str | None = variants[0].get("text") if variants else None
    return text or situation.replace("_", " ")


def ask(dispatcher: CollectingDispatcher, domain: dict[str, Any], candidates: list[str]) -> list[dict[str, Any]]:
    """Ask which of two situations it is; the slot remembers the two so a typed answer counts."""
    first, second = (phrase(domain, s) for s in candidates)
    buttons = [
        {"title": p[:1].upper() + p[1:], "payload": f"/{s}"} for s, p in zip(candidates, (first, second), strict=True)
    ]
    dispatcher.utter_message(response="utter_clarify_situation", buttons=buttons, first=first, second=second)
    return [SlotSet("clarify_options", list(candidates))]


_FIRST = re.compile(r"^\W*(?:1|one|1st|first|the first(?: one)?|number one|option (?:1|one)|the former)\b")
_SECOND = re.compile(
    r"^\W*(?:2|two|2nd|second|the second(?: one)?|number two|option (?:2|two)|the latter|"
    r"the other(?: one)?)\b"
)
_STOPWORDS = {
    "a",
    "an",
    "the",
    "that",
    "s",
    "or",
    "about",
    "is",
    "it",
    "this",
    "one",
    "my",
    "your",
    "of",
    "to",
    "was",
    "you",
    "i",
    "for",
    "on",
    "in",
    "with",
    "order",
    "item",
}


def answer_to_clarify(tracker: Tracker, domain: dict[str, Any]) -> str | None:
    """The situation a typed reply to the clarifying question picks: "1", "the second one",
    or words of one question's wording and not the other's ("it's late"). None otherwise."""
    options = [s for s in (tracker.get_slot("clarify_options") or []) if s in get_services().catalog.situation_ids]
    if len(options) != 2 or tracker.get_slot("situation"):
        return None
    text = str((tracker.latest_message or {}).get("text") or "").lower()[:300]
    if _FIRST.search(text):
        return options[0]
    if _SECOND.search(text):
        return options[1]
    said = set(re.findall(r"[a-z]+", text))
    overlap = [len(said & (set(re.findall(r"[a-z]+", phrase(domain, s).lower())) - _STOPWORDS)) for s in options]
    if max(overlap) > 0 and overlap[0] != overlap[1]:
        return options[overlap.index(max(overlap))]
    return None


class ActionClarifySituation(Action):
    def name(self) -> str:
        return "action_clarify_situation"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
        candidates = candidates_of(tracker.latest_message or {}, get_services().catalog.situation_ids)
        if len(candidates) < 2:
            dispatcher.utter_message(response="utter_default")
            return []
        return ask_or_open(dispatcher, tracker, domain, candidates)


def ask_or_open(
    dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any], candidates: list[str]
) -> list[dict[str, Any]]:
    """When the customer's order makes only one of the two possible, open that case; else ask."""
    text = str((tracker.latest_message or {}).get("text") or "")
    fits = assistant().which_fits(turn_of(tracker), candidates)
    if fits:
        return open_case(dispatcher, tracker, fits, text)
    return ask(dispatcher, domain, candidates)
