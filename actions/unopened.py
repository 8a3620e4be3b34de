"""A reply to an offer (a pick, an amount, a 'no') when no case is open yet.

It happens when the first message describes a problem but reads most like a reply ("order
10441 is two weeks late, I want my 1249 back" looks like an amount). Saying "I don't have an
open case" to someone who just described one is a stall; when the intent ranking holds two
situations, ask which of them it is (the buttons open the case, keeping the facts the
message gave: see start_case), else let the caller say what it says.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.clarify import candidates_of, phrase
from makegood.services.bootstrap import get_services

MIN_CONFIDENCE = 0.05  # a situation this unlikely is not worth a button


def ask_which_situation(dispatcher: CollectingDispatcher, tracker: Tracker,
                        domain: Dict[Text, Any]) -> Optional[List[Dict[Text, Any]]]:
    """Events when a clarifying question was asked; None when there was nothing to ask about."""
    if tracker.get_slot("situation"):
        return None
    latest = dict(tracker.latest_message or {})
    ranking = [r for r in latest.get("intent_ranking") or [] if float(r.get("confidence") or 0) >= MIN_CONFIDENCE]
    candidates = candidates_of({"intent_ranking": ranking}, get_services().catalog.situation_ids)
    if len(candidates) < 2:
        return None
    first, second = (phrase(domain, s) for s in candidates)
    buttons = [{"title": p[:1].upper() + p[1:], "payload": f"/{s}"} for s, p in zip(candidates, (first, second))]
    dispatcher.utter_message(response="utter_clarify_situation", buttons=buttons, first=first, second=second)
    return []
