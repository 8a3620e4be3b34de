"""Reading a conversation fact from what the customer wrote, by the fact's type.

The catalog says which facts a situation asks for and how each is phrased; this module is the
one place that knows how an answer of each type looks in a chat: "about 35 bucks" (money),
"a couple of days" (hour: 48), "3" (days, count), "the navy blue one" (enum), "yep" (bool).
`asked` says whether the bot just asked for this fact: a bare number or a bare yes counts only
then, because in any other message it could mean anything.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal

from makegood.errors import CaseError
from makegood.money import to_money
from makegood.nlp import Entity, to_decimal
from makegood.policy.case import coerce_fact
from makegood.policy.model import FactSpec

_YES = re.compile(r"^\s*(?:yes|yeah|yep|yup|y|sure|correct|right|it was|i did|true)\b", re.I)
_NO = re.compile(r"^\s*(?:no|nope|nah|n|not really|it wasn'?t|i didn'?t|false)\b", re.I)
_WHOLE = re.compile(r"(?<![\w.$£€#-])(\d{1,5})(?![\w.,%])")
_NOT_MONEY = ("order_id", "duration_days", "duration_hours")

_BARE_SUM = re.compile(
    r"(?<![\w.$£€#-])(\d{1,4}(?:\.\d{1,2})?)(?![\w%.]|\s*(?:hours?|hrs?|days?|weeks?|"
    r"months?|minutes?|mins?|times|items?|x\b|years?|%|percent|pieces?|pcs))"
)


def sums_in(text: str, entities: Iterable[Entity]) -> list[Decimal]:
    """The money in a message: the NLU's amounts, else bare numbers that are not order
    numbers, durations or counts ("I paid 349 and now it's 299", "I just want the 129 back")."""
    found = [Decimal(e.value) for e in entities if e.entity == "amount"]
    if found:
        return found
    return [Decimal(n) for n in _BARE_SUM.findall((text or "").lower()[:500])]


def read_fact(spec: FactSpec, entities: Iterable[Entity], text: str, *, asked: bool) -> str | None:
    """The value this message gives for `spec`, as text the slot can hold, or None."""
    entities = list(entities)
    text = (text or "")[:2000]
    reader = _READERS.get(spec.type)
    return reader(spec, entities, text, asked) if reader is not None else None


def parse_fact(spec: FactSpec, value: object) -> str:
    """A slot value checked as the fact (CaseError says why not), as text for the slot."""
    typed = coerce_fact(spec, value)
    return str(typed).lower() if isinstance(typed, bool) else str(typed)


def _money(spec: FactSpec, entities: list[Entity], text: str, asked: bool) -> str | None:
    sums = sums_in(text, entities)
    if spec.read == "difference" and len(sums) == 2 and sums[0] != sums[1]:
        return str(abs(sums[0] - sums[1]))  # "I paid 349 and now it's 299"
    amount = next((e.value for e in entities if e.entity == "amount"), None)
    if amount is not None:
        return amount
    if len(sums) == 1:
        return str(sums[0])
    if asked and not any(e.entity in _NOT_MONEY for e in entities):
        try:  # asked for a sum: "about two hundred"
            return str(to_money(to_decimal(text.lower()), spec.name))
        except CaseError:
            return None
    return None


def _hours(spec: FactSpec, entities: list[Entity], text: str, asked: bool) -> str | None:
    # Hours before days: "6 hours" is also read as 0 days, and "last night" as a day.
    for entity in entities:
        if entity.entity == "duration_hours":
            return entity.value
    for entity in entities:
        if entity.entity == "duration_days" and int(entity.value) > 0:
            return str(int(entity.value) * 24)
    return _bare_whole(text) if asked else None


def _days(spec: FactSpec, entities: list[Entity], text: str, asked: bool) -> str | None:
    for entity in entities:
        if entity.entity == "duration_days" and int(entity.value) > 0:
            return entity.value
    return _bare_whole(text) if asked else None


def _whole(spec: FactSpec, entities: list[Entity], text: str, asked: bool) -> str | None:
    return _bare_whole(text) if asked else None


def _bare_whole(text: str) -> str | None:
    found = _WHOLE.findall(text)
    return found[0] if len(found) == 1 else None


def _enum(spec: FactSpec, entities: list[Entity], text: str, asked: bool) -> str | None:
    """A declared value named in the message, whatever its case; the longest wins ("serious
    illness" over "illness"), and two different ones are no answer."""
    lowered = " ".join(text.split()).casefold()
    named = {
        value
        for value in spec.values
        if re.search(rf"(?<!\w){re.escape(' '.join(value.split()).casefold())}(?!\w)", lowered)
    }
    named = {v for v in named if not any(v != o and v.casefold() in o.casefold() for o in named)}
    return next(iter(named)) if len(named) == 1 else None


def _bool(spec: FactSpec, entities: list[Entity], text: str, asked: bool) -> str | None:
    if not asked:
        return None
    if _YES.search(text):
        return "true"
    if _NO.search(text):
        return "false"
    return None


_READERS = {
    "money": _money,
    "hour": _hours,
    "days": _days,
    "count": _whole,
    "month": _whole,
    "enum": _enum,
    "bool": _bool,
}
