"""A reply to an offer (a pick, an amount, a 'no') when no case is open yet.

It happens when the first message describes a problem but reads most like a reply ("order
10441 is two weeks late, I want my 1249 back" looks like an amount). Saying "I don't have an
open case" to someone who just described one is a stall; when the intent ranking holds two
situations, ask which of them it is (the buttons open the case, keeping the facts the
message gave: see start_case), else let the caller say what it says.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.case_opening import earlier_message, open_case
from actions.clarify import answer_to_clarify, ask_or_open, candidates_of, phrase
from actions.glue import entities_of
from makegood.services.bootstrap import get_services
from makegood.services.bot.case_facts import order_in

MIN_CONFIDENCE = 0.05  # below this no situation is worth asking about


def ask_which_situation(
    dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
) -> list[dict[str, Any]] | None:
    """Events when a clarifying question was asked; None when there was nothing to ask about."""
    if tracker.get_slot("situation"):
        return None
    latest = dict(tracker.latest_message or {})
    situations = get_services().catalog.situation_ids
    ranking = [r for r in latest.get("intent_ranking") or [] if r.get("name") in situations]
    if not ranking or float(ranking[0].get("confidence") or 0) < MIN_CONFIDENCE:
        return None
    # The likeliest situation has some support: ask about it and the runner-up, however faint,
    # so the customer can say which in one click rather than start again.
    candidates = candidates_of({"intent_ranking": ranking}, situations)
    if len(candidates) < 2:
        return None
    return ask_or_open(dispatcher, tracker, domain, candidates)


def before_reply(
    dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any], declining: bool = False
) -> list[dict[str, Any]] | None:
    """What a reply-like message means when no case is open: the answer to a clarifying
    question (open that case), or a problem told like a reply (ask which). None: go on."""
    if tracker.get_slot("situation"):
        return None
    chosen = answer_to_clarify(tracker, domain)
    if chosen:
        return open_case(dispatcher, tracker, chosen, earlier_message(tracker) or "")
    if tracker.get_slot("clarify_options"):
        if declining:  # "neither": neither guess was right, so ask them to say more
            dispatcher.utter_message(response="utter_how_can_i_help")
            return [SlotSet("clarify_options", None)]
        return assume_likelier(dispatcher, tracker, domain)
    return ask_which_situation(dispatcher, tracker, domain)


def assume_likelier(dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
    """They went on without answering the clarifying question ("the packing slip says
    MG-10482"): asking again would stall, so take the likelier of the two, say so plainly, and
    keep what this message gave."""
    situation = next(iter(tracker.get_slot("clarify_options")))
    order = order_in(entities_of(tracker))
    dispatcher.utter_message(response="utter_assume_situation", situation=phrase(domain, situation))
    return open_case(dispatcher, tracker, situation, earlier_message(tracker) or "", order_id=order)
