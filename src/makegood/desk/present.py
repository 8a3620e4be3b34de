"""Words for people: situations, asks, options, ages and transcripts as the desk shows them.

Pure functions over stored (JSON) proposal fields; used as Jinja filters.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from makegood.money import fmt

SPEAKERS = ("customer", "bot", "agent")


def humanize(name: Any) -> str:
    """'damaged_item' -> 'Damaged item'."""
    text = str(name or "").replace("_", " ").strip()
    return text[:1].upper() + text[1:] if text else ""


def money(value: Any) -> str:
    try:
        return fmt(Decimal(str(value)))
    except (InvalidOperation, ValueError, TypeError):
        return str(value)


def option_text(option: Any) -> str:
    """A stored option or ask (dict), as one line."""
    if option is None or option == "" or option == {}:
        return ""
    if isinstance(option, str):
        return option
    if not isinstance(option, Mapping):
        return str(option)
    if option.get("text"):
        return str(option["text"])
    remedy = humanize(option.get("remedy") or "")
    if option.get("weekly") is not None:
        return f"{remedy or 'Payment plan'} at {money(option['weekly'])} a week"
    size = option.get("size")
    if size in (None, "", "None"):  # a remedy with no size (kind item or none): the remedy alone
        return remedy
    kind = option.get("kind")
    if kind == "days":
        return f"{remedy}: {size} days"
    return f"{remedy} of {money(size)}"


def ask_text(proposal: Any) -> str:
    """What the customer asked for: the recorded ask, else the packet's, else their last words."""
    for candidate in (getattr(proposal, "customer_ask", None), (proposal.context or {}).get("customer_ask")):
        text = option_text(candidate)
        if text:
            return text
    for turn in reversed(transcript(proposal)):
        if turn["speaker"] == "customer" and turn["text"]:
            words = turn["text"]
            return f"“{words[:90]}…”" if len(words) > 90 else f"“{words}”"
    return ""


def transcript(proposal: Any) -> list[dict[str, str]]:
    """The conversation as [{speaker, text}], whichever key the writer used (bot: who, copilot: speaker)."""
    raw = (proposal.context or {}).get("transcript") or []
    turns: list[dict[str, str]] = []
    if not isinstance(raw, list):
        return turns
    for item in raw:
        if isinstance(item, Mapping):
            speaker = str(item.get("speaker") or item.get("who") or "customer").lower()
            text = str(item.get("text") or "")
        elif isinstance(item, str):
            speaker, text = "customer", item
        else:
            continue
        turns.append({"speaker": speaker if speaker in SPEAKERS else "customer", "text": text})
    return turns


def age(when: datetime | None, now: datetime | None = None) -> str:
    if when is None:
        return ""
    now = now or datetime.now(timezone.utc)
    seconds = max(0, int((now - when).total_seconds()))
    if seconds < 60:
        return "just now"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} h"
    return f"{hours // 24} d"


def ago(when_: datetime | None, now: datetime | None = None) -> str:
    text = age(when_, now)
    return text if text in ("", "just now") else f"{text} ago"


def when(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


MONEY_FACTS = ("order_value", "monthly_fee", "disputed_amount", "debt_amount", "price_difference")


def fact_value(value: Any, name: str = "") -> str:
    if name in MONEY_FACTS and value not in (None, ""):
        return money(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return "—"
    return str(value)


def requester(name: str) -> str:
    return "the bot" if str(name).strip().lower() == "bot" else str(name)


DECISION_WORDS = {"approve": "approved", "cosign": "co-signed", "reject": "rejected", "escalate": "escalated"}


def decision_word(decision: str) -> str:
    return DECISION_WORDS.get(decision, decision)


FILTERS = {
    "humanize": humanize,
    "money": money,
    "option_text": option_text,
    "ask_text": ask_text,
    "age": age,
    "ago": ago,
    "when": when,
    "fact_value": fact_value,
    "requester": requester,
    "decision_word": decision_word,
}
