"""Numbers as customers type them: digits ("1,299.99", ".50") and words ("forty-five",
"one hundred and twenty", "a hundred"). Pure Python, no spaCy: the token patterns in
`pipeline.py` decide *where* a number is; this module decides *what* it is."""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation

UNITS = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
}
TEENS = {
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
TENS = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
SMALL = {**UNITS, **TEENS, **TENS}

# ASCII digits only: `\d` would also accept Arabic-Indic and other Unicode digits.
# Grouped thousands must be well-formed ("1,299"), otherwise no commas at all.
DIGITS_RE = r"^(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?$|^\.[0-9]+$"
_DIGITS = re.compile(DIGITS_RE)
# Numbers longer than this are not something a customer says about a case; refusing them
# keeps Decimal arithmetic far from its 28-digit context precision.
_MAX_DIGITS = 15


def parse_digits(token: str) -> Decimal | None:
    """'1,299.99' -> Decimal('1299.99'); None when the token is not a plain number."""
    if not _DIGITS.match(token):
        return None
    plain = token.replace(",", "")
    if sum(ch.isdigit() for ch in plain) > _MAX_DIGITS:
        return None
    try:
        return Decimal(plain)
    except InvalidOperation:  # pragma: no cover - the regex already guarantees a number
        return None


def parse_words(words: Sequence[str]) -> int | None:
    """Number words 0..999: 'forty five', 'forty - five', 'a hundred', 'one hundred and
    twenty'. Returns None for anything else, including ill-formed runs like 'five five'."""
    hundreds = 0
    rest: int | None = None  # the part below one hundred
    multiplier: int | None = None  # "a"/"one".."nine" waiting for "hundred"
    words = [w.lower() for w in words if w not in ("-", "")]
    if not words:
        return None
    for i, word in enumerate(words):
        if word in ("a", "an"):
            if i != 0:
                return None
            multiplier = 1
        elif word == "hundred":
            if hundreds or (rest is not None and rest not in UNITS.values()) or rest == 0:
                return None
            hundreds = (multiplier or rest or 1) * 100
            rest, multiplier = None, None
        elif word == "and":
            if not hundreds or i == len(words) - 1:
                return None
        elif word in SMALL:
            if multiplier is not None:
                return None
            value = SMALL[word]
            if rest is None:
                rest = value
            elif rest in TENS.values() and 1 <= value <= 9:
                rest += value  # "forty five"
            else:
                return None
        else:
            return None
    if multiplier is not None:  # a bare "a"
        return None
    return hundreds + (rest or 0)


def parse_number(tokens: Sequence[str]) -> Decimal | None:
    """Digits in one token, or a run of number words."""
    tokens = [t for t in tokens if t]
    if len(tokens) == 1:
        digits = parse_digits(tokens[0])
        if digits is not None:
            return digits
    words = parse_words(tokens)
    return None if words is None else Decimal(words)
