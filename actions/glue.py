"""Shared glue: read a Turn from the tracker, speak a Reply, and fail gracefully."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import ConversationPaused, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from makegood.nlp import Entity, extract
from makegood.services.bootstrap import get_services
from makegood.services.bot.resolution import Assistant, Reply, Turn
from makegood.services.bot.whose_chat import bound_customer

log = logging.getLogger("makegood.actions")

# The case's own slots; the facts it gathers are whatever the catalog asks (case_slots()).
CASE_SLOTS = ("situation", "order_id", "fact_misses", "case_opening")


def case_slots() -> tuple[str, ...]:
    return CASE_SLOTS + get_services().catalog.askable_facts()


def assistant() -> Assistant:
    return Assistant(get_services())


def entities_of(tracker: Tracker) -> list[Entity]:
    """Entities of the latest message, as the NLU pipeline found them; the same extractor
    runs on the text when the message came without NLU (e.g. a test or /intent syntax)."""
    latest = tracker.latest_message or {}
    found = []
    for e in latest.get("entities") or []:
        try:
            found.append(
                Entity(
                    entity=str(e["entity"]),
                    value=str(e["value"]),
                    start=int(e.get("start") or 0),
                    end=int(e.get("end") or 0),
                    text=str(e.get("value")),
                )
            )
        except (KeyError, TypeError, ValueError):
            continue
    return found or extract(latest.get("text") or "")


def turn_of(tracker: Tracker) -> Turn:
    events = tracker.events or []
    transcript = [
        {"who": "customer" if e.get("event") == "user" else "bot", "text": e.get("text") or ""}
        for e in events
        if e.get("event") in ("user", "bot") and e.get("text")
    ]
    latest = tracker.latest_message or {}
    channel = latest.get("input_channel") or tracker.get_latest_input_channel() or "rest"
    return Turn(
        conversation_id=tracker.sender_id,
        channel=str(channel),
        situation=tracker.get_slot("situation"),
        slots={name: tracker.get_slot(name) for name in case_slots()},
        stage=tracker.get_slot("stage"),
        text=str(latest.get("text") or "")[:2000],
        entities=entities_of(tracker),
        user_turns=sum(1 for e in events if e.get("event") == "user"),
        transcript=transcript,
        session=session_of(events),
        customer_id=customer_of(tracker),
    )


def customer_of(tracker: Tracker) -> str | None:
    """Whose chat this is: the first valid signed token in this session's messages binds it
    (makegood.customers.identity); a later token naming someone else is ignored, and logged."""
    metadata = [e.get("metadata") for e in tracker.events or [] if e.get("event") == "user"]
    metadata.append((tracker.latest_message or {}).get("metadata"))
    binding = bound_customer(metadata, get_services().identity_secret)
    if binding.refused:
        log.warning(
            "conversation %s is bound to customer %s; a token for %s was ignored",
            tracker.sender_id,
            binding.customer_id,
            ", ".join(binding.refused),
        )
    return binding.customer_id


def session_of(events: list[dict[str, Any]]) -> str:
    """Which session of this sender the turn belongs to: the time its latest session (or
    restart) began. The tracker store replays only the current session's events, so turn
    counts start again after `/restart`; the session keeps ledger keys from colliding."""
    starts = [e for e in events if e.get("event") in ("session_started", "restart")]
    first = starts[-1] if starts else (events[0] if events else {})
    try:
        return f"s{int(float(first.get('timestamp') or 0) * 1000)}"
    except (TypeError, ValueError):
        return "s0"


def speak(dispatcher: CollectingDispatcher, reply: Reply, domain: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    known = (domain or {}).get("responses") or {}
    for say in reply.says:
        if say.text:  # the catalog's own words (a fact's question)
            dispatcher.utter_message(text=say.text)
        elif say.fallback and domain is not None and say.response not in known:
            # A remedy the catalog added without a domain response: said in the catalog's words.
            dispatcher.utter_message(text=say.fallback)
        else:
            dispatcher.utter_message(response=say.response, **dict(say.params))
    events: list[dict[str, Any]] = [SlotSet(k, v) for k, v in reply.slots.items()]
    if reply.pause:
        events.append(ConversationPaused())
    return events


# Actions run on a bounded pool of threads, off the actions server's event loop: a turn that
# waits on the database or the engine never stalls the other conversations' turns. Bounded
# below the database pool (5 connections + overflow; makegood.db) so a burst queues here,
# in order, instead of timing out waiting for a connection.
ACTION_THREADS = 8
_pool: ThreadPoolExecutor | None = None


def off_loop(run: Callable[..., Awaitable[Any]], *args: Any) -> Awaitable[Any]:
    """Run the coroutine function `run(*args)` to completion on a pool thread (its own event
    loop there), awaited from the server's loop."""
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=ACTION_THREADS, thread_name_prefix="makegood-action")
    return asyncio.get_running_loop().run_in_executor(_pool, lambda: asyncio.run(run(*args)))


def graceful(run: Callable[..., Awaitable[list[dict[str, Any]]]]):
    """If the database or the catalog is unavailable, or anything unexpected happens, the
    action never crashes and the error goes to the log, loudly (see `saved_for_a_person`).
    The action itself runs off the event loop (`off_loop`)."""

    @functools.wraps(run)
    async def wrapper(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]):
        async def guarded() -> list[dict[str, Any]]:
            try:
                return await run(self, dispatcher, tracker, domain)
            except Exception:  # the customer must never see a crash (logged with its traceback)
                log.exception("action %s failed for conversation %s", self.name(), tracker.sender_id)
            return saved_for_a_person(dispatcher, tracker, self.name())

        return await off_loop(guarded)

    return wrapper


def saved_for_a_person(dispatcher: CollectingDispatcher, tracker: Tracker, where: str) -> list[dict[str, Any]]:
    """After a failure in `where`, the customer hears the truth: when the case could still be
    saved for a person, they get its reference and the chat waits for that person; when it
    could not, they hear that nothing was saved and nothing changed, and the bot stays
    available (a paused chat with nobody behind it would be a dead end)."""
    try:
        saved = assistant().handoff(turn_of(tracker), reason=f"system trouble in {where}")
    except Exception:  # the store itself is down: say so, never claim it is saved
        log.exception("could not save a handoff for conversation %s either: nothing was recorded", tracker.sender_id)
        dispatcher.utter_message(response="utter_service_trouble")
        return []
    dispatcher.utter_message(response="utter_service_trouble_saved", proposal_id=saved.proposal_id)
    return [ConversationPaused()]
