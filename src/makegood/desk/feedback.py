"""The customer rates a closed chat: `POST /chat/rating {"sender", "stars", "comment"?, "customer_token"?}`.

Public (the customer's side), like /chat/send. A rating of 2 or less, or a comment that reports
a problem still open, puts the chat back in the live inbox for a person
(makegood.services.feedback); the customer is told so, never sent a canned apology.
"""

from __future__ import annotations

import json as jsonlib
import logging
from typing import Any

from sanic.response import HTTPResponse, json

from makegood.desk.context import blocking, desk_of
from makegood.desk.customer_side import SENDER, customer_of_token
from makegood.services.feedback import AlreadyRated, Feedback, FeedbackError, NothingToRate, words_report_problem

log = logging.getLogger(__name__)

THANKS = "Thank you for rating this chat."
SECOND_CHANCE = (
    "Thank you for telling us. I'm sorry we didn't get this right: I've passed your chat, with everything "
    "in it, to a colleague, who will pick it up right here."
)
# The NLU reads a comment as a problem when it names an exception or asks for a person with
# this much confidence; the words are checked too (a plain "still nothing" is no intent).
PROBLEM_CONFIDENCE = 0.6
PROBLEM_INTENTS = ("frustrated", "request_human", "deny")


def register(app: Any) -> None:
    app.add_route(rate_chat, "/chat/rating", methods=["POST"])


def feedback_of(desk: Any) -> Feedback:
    services = desk.services()
    situations = set(services.catalog.situation_ids)

    def reports_problem(comment: str) -> bool:
        if words_report_problem(comment):
            return True
        try:
            parsed = desk.understanding.parse(comment)
        except Exception as exc:  # noqa: BLE001 - Rasa down: the words above decided
            log.info("rating comment not parsed (%s); read by its words only", exc.__class__.__name__)
            return False
        intent = getattr(parsed, "intent", None)
        return (
            bool(intent)
            and parsed.confidence >= PROBLEM_CONFIDENCE
            and (intent in situations or intent in PROBLEM_INTENTS)
        )

    return Feedback(services.ledger.engine, services.ledger, services.conversations, reports_problem)


def can_rate(desk: Any, sender: str) -> bool:
    """Whether the chat page should offer the rating now (blocking)."""
    try:
        return feedback_of(desk).can_rate(sender)
    except Exception:
        log.exception("could not tell whether %s can rate", sender)
        return False


async def rate_chat(request: Any) -> HTTPResponse:
    desk = desk_of(request)
    try:
        body = jsonlib.loads((request.body or b"").decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return json({"error": 'the request body must be JSON: {"sender", "stars", "comment"}'}, status=400)
    if not isinstance(body, dict):
        return json({"error": "the request body must be a JSON object"}, status=400)
    sender = body.get("sender")
    if not isinstance(sender, str) or not SENDER.match(sender):
        return json({"error": "sender must be 1 to 64 letters, digits, - or _"}, status=400)
    customer = customer_of_token(desk, body.get("customer_token"))
    try:
        rating = await blocking(
            feedback_of(desk).rate, sender, body.get("stars"), body.get("comment"), customer_id=customer
        )
    except NothingToRate as exc:
        return json({"error": str(exc)}, status=404)
    except AlreadyRated as exc:
        return json({"error": str(exc)}, status=409)
    except FeedbackError as exc:
        return json({"error": str(exc)}, status=400)
    return json(
        {"stars": rating.stars, "reopened": rating.reopened, "message": SECOND_CHANCE if rating.reopened else THANKS},
        status=201,
    )
