"""How the bot reads a reply to its offers: a pick, a remedy it did not offer, or a no.

The intent classifier says what kind of message this is in general; what it means depends on
what is on the table. "I want the watch replaced, a voucher is no use to me" names two
remedies, one wanted and one refused; "no, a refund, not credit" starts with "no" but asks for
something; "none of those work for me" is a no to everything offered. Each is read here by
clause, so a refused remedy is never the one granted.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

# Words that name each remedy. Families share words ("refund" is full or partial): a word
# names every remedy of its family, and the menu decides which one it can be.
KEYWORDS: Mapping[str, tuple[str, ...]] = {
    "full_refund": (
        "full refund",
        "full",
        "refund",
        "money back",
        "my card",
        "original payment",
        "all of it",
        "reimburse",
    ),
    "partial_refund": (
        "partial",
        "refund",
        "money back",
        "cash",
        "my card",
        "original payment",
        "back to my",
        "reimburse",
    ),
    "store_credit": ("store credit", "credit"),
    "service_credit": ("credit", "subscription credit", "account credit"),
    "fee_waiver": ("waive", "waiver", "fee", "drop the charge", "remove the charge"),
    "replacement": (
        "replacement",
        "replace",
        "new one",
        "another one",
        "send it again",
        "resend",
        "exchange",
        "swap",
        "right size",
        "right one",
        "correct one",
        "re-send",
        "reship",
    ),
    "shipping_upgrade": ("shipping", "express"),
    "return_window_extension": ("extend", "extension", "window", "reopen", "more time to return"),
    "payment_deferral": ("defer", "postpone", "later", "move", "due date", "more time"),
    "goodwill_voucher": ("voucher", "coupon", "discount code", "promo code"),
    "keep_item": ("keep",),
    "prepaid_return": ("label", "send it back", "return it", "return"),
    # Not "plan" alone: "the music plan" is a subscription, not a payment plan.
    "payment_plan": ("payment plan", "weekly", "instalment", "installment", "pay it off", "spread"),
}

# How a remedy the bot did not offer is named back to the customer ("{asked} is more than I
# can approve on my own").
ASKED_AS: Mapping[str, str] = {
    "full_refund": "A full refund",
    "partial_refund": "A refund",
    "store_credit": "Store credit",
    "service_credit": "Credit on your account",
    "fee_waiver": "Waiving the fee",
    "replacement": "A replacement",
    "shipping_upgrade": "Refunding the shipping",
    "return_window_extension": "Reopening the return window",
    "payment_deferral": "Moving the due date",
    "goodwill_voucher": "A voucher",
    "keep_item": "Keeping the item",
    "prepaid_return": "A prepaid return label",
    "payment_plan": "A payment plan",
}

# A clause with one of these refuses what it names ("a voucher is no use", "not credit").
_NEGATION = re.compile(
    r"\b(?:not|no|don'?t|doesn'?t|do not|does not|never|without|instead of|rather than|"
    r"isn'?t|is no use|useless|won'?t|wont|no good|no use|nor|neither)\b"
)
# A no to everything on the table, when nothing is asked for instead.
_REFUSE_ALL = re.compile(
    r"\b(?:none|neither|nothing|no thanks|no thank you|not interested|no way|nope|"
    r"doesn'?t work|don'?t work|do not work|not good enough|not enough|not acceptable|"
    r"unacceptable|not happy with (?:that|those|any))\b"
)
_CLAUSES = re.compile(r"[,.;:!?\n]+|\s+but\s+|\s+instead\s+|\s+and\s+")
_ORDINALS = {
    "first": 0,
    "1st": 0,
    "second": 1,
    "2nd": 1,
    "two": 1,
    "third": 2,
    "3rd": 2,
    "three": 2,
    "one": 0,
    "last": -1,
}
_NUMBER = re.compile(r"(?<![\d$.\-−])([1-9])(?![\d.%])")
_AMOUNT = re.compile(r"(?<![\w.])\$?(\d{1,6}(?:\.\d{1,2})?)(?![\w%])")


@dataclass(frozen=True)
class Reading:
    kind: Literal["pick", "asks_other", "asks_amount", "declines", "unclear"]
    index: int | None = None  # the menu item, for a pick
    remedy: str | None = None  # the remedy asked for, when it is not on the menu
    amount: Decimal | None = None  # the sum asked for, when no offer is that sum


def read_reply(text: str, menu: Sequence[Mapping[str, Any]], amounts: Sequence[Decimal] = ()) -> Reading:
    """What a reply to `menu` means. A number, an ordinal or one offer's amount picks that
    offer; a sum no offer comes to is an ask ("I just want the 129 refunded"); otherwise the
    remedies the customer names, clause by clause, wanted or refused. `amounts`: the money
    the NLU found in the message (so an order number or "48 hours" is never read as a sum)."""
    lowered = (text or "").lower()[:500]
    by_position = _by_position(lowered, menu)
    if by_position is not None:
        return Reading("pick", index=by_position)
    sizes = {_size_of(item) for item in menu}
    unmatched = [a for a in amounts if a not in sizes]
    if unmatched and len(unmatched) == len(amounts):
        return Reading("asks_amount", amount=max(unmatched))
    # A remedy a policy owner added has no keywords here: it is named by the words of its id
    # ("warranty_repair" by "warranty repair", "repair", "warranty").
    added = {str(item.get("remedy")) for item in menu} - set(KEYWORDS)
    wanted, refused = _named(lowered, {**{r: _id_words(r) for r in added}, **KEYWORDS})
    scores = [_score(wanted, str(item.get("remedy"))) if str(item.get("remedy")) not in refused else 0 for item in menu]
    best = max(scores, default=0)
    on_menu = {str(item.get("remedy")) for item in menu}
    other = [remedy for remedy in wanted if remedy not in on_menu and remedy not in refused]
    # Named more clearly than anything on the menu ("the full refund" when a partial one is
    # offered): that is what they ask for.
    strongest = max(other, key=lambda r: _score(wanted, r), default=None)
    if strongest is not None and _score(wanted, strongest) > best:
        return Reading("asks_other", remedy=strongest)
    if best > 0:
        return Reading("pick", index=scores.index(best)) if scores.count(best) == 1 else Reading("unclear")
    if other:
        return Reading("asks_other", remedy=strongest)
    if refused & on_menu or _REFUSE_ALL.search(lowered):
        return Reading("declines")
    return Reading("unclear")


# A sum is asked for only in a clause that asks ("I want my 1249 back"), not in one that
# describes ("a $35 vase arrived", "I don't want to pay for it").
_ASKS = re.compile(
    r"\b(?:want|wanted|need|expect|demand|give me|i'?d like|like my|back|refund|compensat|"
    r"reimburse|owed)"
)


def demanded_sums(text: str, entities: Sequence[Any]) -> list[Decimal]:
    """The amounts in `text` that sit in a clause asking for money. `entities`: the NLU's
    (amount entities with character offsets); bare numbers are read from the asking clause."""
    lowered = (text or "")[:500].lower()
    out: list[Decimal] = []
    start = 0
    for clause in _CLAUSES.split(lowered):
        begin = lowered.find(clause, start)
        end = begin + len(clause)
        start = end
        if not _ASKS.search(clause) or _NEGATION.search(clause):
            continue
        inside = [Decimal(e.value) for e in entities if e.entity == "amount" and begin <= e.start < end]
        out += inside or [Decimal(n) for n in _AMOUNT.findall(clause) if len(n.split(".")[0]) <= 4]
    return out


def pick(text: str, menu: Sequence[Mapping[str, Any]]) -> int | None:
    """The menu item the customer means, or None (two named equally, or none)."""
    reading = read_reply(text, menu)
    return reading.index if reading.kind == "pick" else None


def refused_remedies(text: str) -> set[str]:
    return _named((text or "").lower()[:500])[1]


def _by_position(lowered: str, menu: Sequence[Mapping[str, Any]]) -> int | None:
    number = _NUMBER.search(lowered)
    if number and int(number.group(1)) <= len(menu) and "$" not in lowered:
        return int(number.group(1)) - 1
    for word, index in _ORDINALS.items():
        w = re.escape(word)
        # "the second", "second one", "option two", or the word alone; not "first of all".
        if re.search(rf"\b(?:the|number|option|no\.?)\s+{w}\b|\b{w}\s+(?:one|option)\b", lowered) or re.fullmatch(
            rf"\s*{w}(?:\s+(?:one|option|please|pls|thanks|thank you))?[\s.!]*", lowered
        ):
            if word == "one" and not re.search(r"\b(?:number|option|no\.?)\s+one\b|^\s*one\b", lowered):
                continue  # "the $30 one", "that one": not the first
            if index < len(menu):
                return index if index >= 0 else len(menu) - 1
    amounts = {Decimal(a) for a in _AMOUNT.findall(lowered)}
    by_amount = [i for i, item in enumerate(menu) if _size_of(item) in amounts]
    return by_amount[0] if len(by_amount) == 1 else None


def _id_words(remedy: str) -> tuple[str, ...]:
    words = [w for w in remedy.split("_") if len(w) > 2]
    return (" ".join(words), *words) if len(words) > 1 else tuple(words)


def _named(lowered: str, keywords: Mapping[str, tuple[str, ...]] = KEYWORDS) -> tuple[dict[str, int], set[str]]:
    """Remedies named in wanted clauses (with how many of their words) and in refusing ones."""
    wanted: dict[str, int] = {}
    refused: set[str] = set()
    lowered = lowered.replace("credit card", "card").replace("debit card", "card")  # a card is not credit
    for clause in _CLAUSES.split(lowered):
        negated = bool(_NEGATION.search(clause))
        for remedy, words in keywords.items():
            hits = sum(1 for word in words if re.search(rf"\b{re.escape(word)}", clause))
            if not hits:
                continue
            if negated:
                refused.add(remedy)
            else:
                wanted[remedy] = wanted.get(remedy, 0) + hits
    return wanted, refused - set(wanted)


def _score(wanted: Mapping[str, int], remedy: str) -> int:
    return wanted.get(remedy, 0)


def _size_of(item: Mapping[str, Any]) -> Decimal | None:
    try:
        return Decimal(str(item.get("size"))) if item.get("size") not in (None, "") else None
    except ArithmeticError:
        return None
