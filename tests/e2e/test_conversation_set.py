"""The independent conversation set (tests/eval/conversations.yml), held end to end over REST.

The set was written by a helper who never saw data/ or the bot's behaviour: each turn says what
any reasonable implementation of the spec must do, from a closed vocabulary of checks. Here each
check is read off the bot's replies (matched back to the domain's response templates) and off the
ledger. Two kinds of assertion:

- invariants, asserted for every turn of every conversation: the bot answers (never silence),
  never a server error, every reference it gives (P-XXXXXX) is in the ledger afterwards;
- the semantic checks, scored: the pass rate and every failed check are written to
  docs/conversation-results.md. The target (95%) is the benchmark's to show, not a timed or
  tuned assertion; nothing here feeds training.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml

from tests.support.servers import forget_grants

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SET = ROOT / "tests" / "eval" / "conversations.yml"
OUT = ROOT / "docs" / "conversation-results.md"
REFERENCE = re.compile(r"\bP-[23456789A-HJKMNP-Z]{6}\b")


def _pattern(template: str) -> re.Pattern:
    # A numbered line's {n} is digits; any other slot is free text.
    pattern = re.escape(template).replace(r"\{n\}", r"\d+")
    return re.compile(re.sub(r"\\\{[a-z_]+\\\}", ".+?", pattern), re.S)


def _templates() -> list[tuple[str, re.Pattern]]:
    from makegood_rasa import channels

    # What the channel itself says (a chat waiting for a person, a turn that said nothing).
    out = [
        ("channel_waiting", _pattern(channels.WAITING)),
        ("channel_no_reply", _pattern(channels.NO_REPLY)),
        ("channel_too_long", _pattern(channels.TOO_LONG)),
    ]
    for path in sorted((ROOT / "rasa_project" / "domain").glob("*.yml")):
        for name, variations in (yaml.safe_load(path.read_text()) or {}).get("responses", {}).items():
            for variation in variations or []:
                template = str(variation.get("text") or "")
                if template:
                    out.append((name, _pattern(template)))
    # The questions for a case's facts are the catalog's words (`ask:` / `asks:`).
    from makegood.policy import load_catalog

    catalog = load_catalog(ROOT / "policy")
    for situation in catalog.situations:
        for fact in catalog.asked_facts(situation):
            out.append((f"utter_ask_{fact}", _pattern(catalog.question(situation, fact))))
    return out


TEMPLATES = _templates()


def responses(messages: list[str]) -> list[str]:
    """The response name behind each message ("?" for text no template matches)."""
    names = []
    for message in messages:
        # The most specific template wins: "{n}. {plan}" also matches any sentence with a full stop.
        matches = [(len(pattern.pattern), name) for name, pattern in TEMPLATES if pattern.fullmatch(message.strip())]
        names.append(max(matches)[1] if matches else "?")
    return names


def _any(names, *prefixes):
    return any(n.startswith(prefixes) for n in names)


ASKS_FACT = (
    "utter_ask_disputed_amount",
    "utter_ask_debt_amount",
    "utter_ask_outage_hours",
    "utter_ask_price_difference",
    "utter_duration_not_understood",
    "utter_amount_not_understood",
    "utter_answer_not_understood",
)
OPENED = (
    "utter_ask_order_id",
    "utter_offer_intro",
    "utter_ask_affordability",
    "utter_handoff",
    "utter_order_not_found",
) + ASKS_FACT


def check(name: str, names: list[str], new_rows: int) -> bool:
    apology = any(n.endswith("_apology") for n in names)
    if name == "no_case":
        return not apology and "utter_ask_order_id" not in names and new_rows == 0
    if name == "answers":
        return bool(names) and not apology and "utter_ask_order_id" not in names and "utter_default" not in names
    if name == "case_opened":
        return apology or _any(names, *OPENED) or any(n.startswith("utter_offer_") for n in names)
    if name == "asks_order":
        return "utter_ask_order_id" in names
    if name == "asks_fact":
        return _any(names, *ASKS_FACT)
    if name == "offers":
        return any(n.startswith(("utter_offer_", "utter_plan_option")) and n != "utter_offer_intro" for n in names)
    if name == "asks_fair":
        return "utter_ask_what_is_fair" in names
    if name == "asks_affordability":
        return "utter_ask_affordability" in names
    if name == "plan":
        return _any(names, "utter_plan_")
    if name == "confirms":
        return "utter_resolution_confirmed" in names
    if name == "beyond_authority":
        return "utter_beyond_authority" in names and any(n.startswith("utter_offer_") for n in names)
    if name == "handoff":
        return _any(names, "utter_handoff", "utter_service_trouble_saved", "channel_waiting")
    if name == "order_not_found":
        return "utter_order_not_found" in names
    if name == "clarifies":
        return _any(names, "utter_default", "utter_clarify_situation", "utter_how_can_i_help") or any(
            n.endswith("_clarify") for n in names
        )
    if name == "not_repeat":
        return "utter_ask_order_id" not in names
    raise AssertionError(f"unknown check {name!r} in {SET}")


def final_check(expected: str, statuses: list[str]) -> bool:
    if expected == "none":
        return not statuses or all(s == "offered" for s in statuses)
    if expected == "accepted":
        return "accepted" in statuses
    if expected == "pending":
        return "pending" in statuses
    raise AssertionError(f"unknown final ledger state {expected!r} in {SET}")


SIGNED_IN_WITHOUT_ORDERS = "C-1001"


def test_the_independent_conversation_set(bot):
    conversations = yaml.safe_load(SET.read_text(encoding="utf-8"))["conversations"]
    results, broken = [], []
    for conv in conversations:
        # Each conversation starts from the demo history: earlier conversations' grants would
        # otherwise use up the same demo customers' limits.
        forget_grants(bot.database_url)
        sender = bot.new_sender(conv["id"])
        # The set plays signed-in customers on the website: the owner of the orders the
        # customer mentions, or (talking about a fee or a payment, no order) a demo customer.
        mentioned = (bot.owner_of_order_in(t["user"]) for t in conv["turns"])
        bot.sign_in(sender, next((c for c in mentioned if c), SIGNED_IN_WITHOUT_ORDERS))
        for n, turn in enumerate(conv["turns"], 1):
            before = len(bot.proposals(sender))
            messages = bot.say(sender, turn["user"])
            names = responses(messages)
            rows = bot.proposals(sender)
            if not messages:
                broken.append(f"{conv['id']} turn {n}: no reply to {turn['user']!r}")
            for ref in REFERENCE.findall(" ".join(messages)):
                if not any(p.public_id == ref for p in rows):
                    broken.append(f"{conv['id']} turn {n}: reference {ref} is not in the ledger")
            for name in turn.get("expect") or []:
                results.append((conv["id"], n, name, check(name, names, len(rows) - before), turn["user"], messages))
        if conv.get("final"):
            statuses = [p.status for p in bot.proposals(sender)]
            expected = conv["final"]["ledger"]
            results.append((conv["id"], "end", f"ledger:{expected}", final_check(expected, statuses), "", statuses))
    _write(results, len(conversations))
    assert not broken, "\n".join(broken)
    assert results, f"no checks found in {SET}"


def _write(results, conversations: int) -> None:
    passed = sum(1 for r in results if r[3])
    failed = [r for r in results if not r[3]]
    whole = len({r[0] for r in results}) - len({r[0] for r in failed})
    lines = [
        "# The independent conversation set",
        "",
        f"Written by `make test` ({datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC): `tests/eval/conversations.yml`, "
        f"{conversations} conversations written by a helper who never saw `data/` or the bot's replies, held end "
        "to end over REST against both servers.",
        "",
        "| figure | value |",
        "|---|---|",
        f"| checks passed | {passed} of {len(results)} ({passed / max(1, len(results)):.1%}) |",
        f"| conversations with every check passed | {whole} of {conversations} |",
        "",
        "Why each kind of miss happens, and which ones are the bot's to fix: "
        "[conversation-misses.md](conversation-misses.md).",
        "",
        f"## Every failed check ({len(failed)})",
        "",
        "| conversation | turn | check | customer said | bot said |",
        "|---|---|---|---|---|",
    ]
    for conv, turn, name, _, said, replies in failed:
        bot_said = " / ".join(str(m) for m in replies)[:300].replace("|", "\\|").replace("\n", " ")
        lines.append(f"| {conv} | {turn} | {name} | {str(said).replace('|', chr(92) + '|')} | {bot_said} |")
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    OUT.with_suffix(".json").write_text(
        json.dumps({"passed": passed, "checks": len(results), "conversations": conversations}, indent=2),
        encoding="utf-8",
    )
    print(f"independent conversation set: {passed}/{len(results)} checks passed -> {OUT}")
