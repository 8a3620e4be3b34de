"""Action tests: real rasa_sdk actions, trackers built with Tracker.from_dict, the real
domain files, the real policy catalog; the wiring is swapped for an in-memory customer
store and a ledger on a throwaway SQLite file."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from makegood.customers import InMemoryCustomerStore
from makegood.ledger import Ledger
from makegood.policy import load_catalog
from makegood.services.bootstrap import Services, set_services

ROOT = Path(__file__).resolve().parents[2]
TODAY = date(2026, 11, 23)
SECRET = "actions-test-identity-secret"


@pytest.fixture(scope="session")
def domain() -> dict:
    merged: dict[str, Any] = {"responses": {}, "slots": {}, "forms": {}, "intents": [], "actions": []}
    for path in sorted((ROOT / "rasa_project" / "domain").glob("*.yml")):
        data = yaml.safe_load(path.read_text()) or {}
        merged["responses"].update(data.get("responses") or {})
        merged["slots"].update(data.get("slots") or {})
        merged["forms"].update(data.get("forms") or {})
        merged["intents"] += data.get("intents") or []
        merged["actions"] += data.get("actions") or []
    return merged


@pytest.fixture
def services(tmp_path):
    catalog = load_catalog(ROOT / "policy")
    ledger = Ledger.from_url(f"sqlite:///{tmp_path / 'ledger.db'}")
    # "open": these tests are about the flows, with orders of many demo customers; whose chat it
    # is, and the production default "required", are tested in test_identity.py.
    wired = Services(
        catalog=catalog,
        ledger=ledger,
        customers=InMemoryCustomerStore.demo(TODAY),
        today=lambda: TODAY,
        identity_secret=SECRET,
        chat_identity="open",
    )
    set_services(wired)
    yield wired
    set_services(None)
    ledger.dispose()


def tracker(
    *,
    sender: str = "conv-1",
    text: str = "",
    intent: str = "inform",
    slots: dict | None = None,
    entities: list | None = None,
    user_turns: int = 1,
    metadata: dict | None = None,
) -> Tracker:
    """`metadata`: what every user message of the conversation carried (e.g. a customer token)."""
    events = []
    for i in range(user_turns):
        events.append(
            {
                "event": "user",
                "text": text if i == user_turns - 1 else f"earlier message {i}",
                "parse_data": {"intent": {"name": intent}},
                "metadata": metadata or {},
            }
        )
    return Tracker.from_dict(
        {
            "sender_id": sender,
            "slots": slots or {},
            "latest_message": {
                "text": text,
                "intent": {"name": intent, "confidence": 1.0},
                "entities": entities or [],
                "input_channel": "rest",
                "metadata": metadata or {},
            },
            "events": events,
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": None,
        }
    )


def opened(trk: Tracker) -> Tracker:
    """`trk` as the case form sees it when the opening rule runs it: the apology said since
    the customer's message (the form opens a case only then)."""
    intent = (trk.latest_message.get("intent") or {}).get("name")
    trk.events.append({"event": "action", "name": f"utter_{intent}_apology"})
    return trk


def run(action, trk: Tracker, domain: dict) -> tuple[list[dict], list[dict]]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, trk, domain))
    return dispatcher.messages, events


def said(messages: list[dict]) -> list[str]:
    return [m.get("response") or m.get("text") for m in messages]


def render(messages: list[dict], domain: dict) -> list[str]:
    """The text a customer would read: the domain's first variation, filled with the values."""
    out = []
    for m in messages:
        template = domain["responses"][m["response"]][0]["text"]
        values = {k: v for k, v in m.items() if k not in ("response", "template")}
        values.update(m.get("kwargs") or {})
        out.append(template.format(**values))
    return out
