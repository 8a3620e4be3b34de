"""`extract(text)`: find money, percents, order ids, durations and frequencies in a
customer's message and normalise each to one canonical string.

spaCy (via `pipeline.py`) finds the spans; this module turns each span into a value.
spaCy is imported only when the first message is processed, so importing this module
(the actions server does, at start-up) stays cheap.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import TYPE_CHECKING

from makegood.errors import CaseError
from makegood.money import to_money
from makegood.nlp.labels import AMOUNT, DURATION, DURATION_HOURS, FREQUENCY, ORDER_ID, PERCENT
from makegood.nlp.numbers import parse_digits, parse_number

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc, Span

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Entity:
    entity: str  # one of makegood.nlp.labels.ALL
    value: str  # normalised, see labels.py
    start: int  # character offsets into the text given to `extract`
    end: int
    text: str  # == text[start:end]


_CENT = Decimal("0.01")
_CURRENCY = {"$", "usd", "us$", "dollar", "dollars", "buck", "bucks", "cent", "cents"}
_UNIT_DAYS: dict[str, Fraction] = {
    **dict.fromkeys(("day", "days"), Fraction(1)),
    **dict.fromkeys(("week", "weeks", "wk", "wks"), Fraction(7)),
    **dict.fromkeys(("fortnight", "fortnights"), Fraction(14)),
    **dict.fromkeys(("month", "months"), Fraction(30)),
    **dict.fromkeys(("year", "years", "yr", "yrs"), Fraction(365)),
    **dict.fromkeys(("hour", "hours", "hr", "hrs"), Fraction(1, 24)),
}
_FREQ_OF_UNIT = {"week": "week", "wk": "week", "month": "month", "mo": "month", "fortnight": "fortnight"}
_RELATIVE_DAYS = {
    "yesterday": 1,
    "today": 0,
    "tonight": 0,
    "last night": 1,
    "last week": 7,
    "last fortnight": 14,
    "last month": 30,
    "last year": 365,
    "day before yesterday": 2,
}
_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
# "half" is a percent ("half back", "half the price", "half?") unless it measures time or
# is the tail of "... and a half".
_HALF_NOT_BEFORE = {
    "a",
    "an",
    "hour",
    "hours",
    "day",
    "days",
    "week",
    "weeks",
    "month",
    "months",
    "year",
    "years",
    "way",
    "time",
    "dozen",
    "past",
}
_HALF_NOT_AFTER = {"a", "and", "one", "&"}
_DURATION_TOKEN = re.compile(r"^([0-9]+(?:\.[0-9]+)?)([a-z]+)$")
_MONEY_TOKEN = re.compile(r"^(?:usd)?([0-9][0-9.,]*|\.[0-9]+)(?:usd|bucks)?$")
# Text longer than this is processed in pieces cut at whitespace: spaCy refuses texts
# beyond nlp.max_length, and no chat message is anywhere near this.
_CHUNK = 100_000
_SURROGATE = re.compile("[\ud800-\udfff]")
# spaCy's tokenizer is quadratic in the length of a run without whitespace made of
# prefix/suffix characters ("$$$$...", "!!!!...", emoji): 10,000 of them take ~15 s.
# No entity we look for lives inside a 100-character "word", so such runs are blanked.
_LONG_RUN = re.compile(r"\S{100,}")

_nlp: Language | None = None
_nlp_lock = threading.Lock()


def _pipeline() -> Language:
    global _nlp
    if _nlp is None:
        with _nlp_lock:
            if _nlp is None:
                from makegood.nlp.pipeline import build_nlp

                _nlp = build_nlp()
    return _nlp


def extract(text: str, today: date | None = None) -> list[Entity]:
    """Entities in `text`, in order of appearance. `today` anchors "since Monday".
    Never raises: a message we cannot read yields fewer entities, not an error."""
    if not isinstance(text, str) or not text.strip():
        return []
    today = today or date.today()
    found: list[Entity] = []
    for offset, piece in _pieces(text):
        doc = _pipeline()(_tame(piece))
        found.extend(_normalise(doc, piece, offset, today))
    return found


def _tame(piece: str) -> str:
    """What spaCy sees. Every change is one character for one, so spaCy's offsets still
    point into the caller's text (and entity text is sliced from the caller's text)."""
    # spaCy cannot encode lone surrogates ("\ud800"): they become U+FFFD.
    piece = _SURROGATE.sub("\ufffd", piece)
    return _LONG_RUN.sub(lambda m: " " * len(m.group(0)), piece)


def _pieces(text: str) -> Iterator[tuple[int, str]]:
    start = 0
    while start < len(text):
        end = min(len(text), start + _CHUNK)
        if end < len(text):
            # Cut at a line break if there is one in the second half of the window, else
            # at a space: an entity is lost only if it straddles the cut.
            cut = text.rfind("\n", start + (end - start) // 2, end)
            if cut <= start:
                cut = text.rfind(" ", start, end)
            if cut > start:
                end = cut
        yield start, text[start:end]
        start = end


# --- normalisers: (span, context) -> entities ---------------------------------------


@dataclass
class _Context:
    doc: Doc
    piece: str  # the caller's text the doc was made from (doc.text may differ, see above)
    offset: int
    today: date
    found: list[Entity]

    def entity(self, label: str, value: str, span: Span) -> Entity:
        start, end = span.start_char, span.end_char
        return Entity(label, value, self.offset + start, self.offset + end, self.piece[start:end])

    def follows_entity(self, span: Span, labels: tuple[str, ...]) -> bool:
        """Is `span` right after (only whitespace between) an entity with one of `labels`?"""
        if not self.found:
            return False
        prev = self.found[-1]
        gap = self.doc.text[prev.end - self.offset : span.start_char]
        return prev.entity in labels and prev.end - self.offset <= span.start_char and not gap.strip()


def _normalise(doc: Doc, piece: str, offset: int, today: date) -> list[Entity]:
    ctx = _Context(doc, piece, offset, today, [])
    for span in doc.ents:
        kind = span.ent_id_.split(":")[0]
        try:
            ctx.found.extend(_NORMALISERS[kind](span, ctx))
        except Exception:  # a normaliser bug must cost one entity, never the message
            log.exception("could not normalise %r (%s)", span.text, span.ent_id_)
    return ctx.found


def _words(span: Span) -> list[str]:
    return [t.lower_ for t in span]


def _money_str(value: Decimal) -> str:
    return format(value.quantize(_CENT, rounding=ROUND_HALF_UP), "f")


def _money_value(tokens: list[str]) -> Decimal | None:
    if len(tokens) == 1:
        match = _MONEY_TOKEN.match(tokens[0])
        return parse_digits(match.group(1)) if match else None
    return parse_number([t for t in tokens if t not in _CURRENCY])


def _money(span: Span, ctx: _Context) -> list[Entity]:
    value = _money_value(_words(span))
    return [] if value is None else [ctx.entity(AMOUNT, _money_str(value), span)]


def _cents(span: Span, ctx: _Context) -> list[Entity]:
    value = _money_value(_words(span))
    return [] if value is None else [ctx.entity(AMOUNT, _money_str(value / 100), span)]


def _percent(span: Span, ctx: _Context) -> list[Entity]:
    value = parse_number([w for w in _words(span) if w not in ("%", "percent", "pct", "per", "cent")])
    return [] if value is None else [ctx.entity(PERCENT, format(value.normalize(), "f"), span)]


def _half(span: Span, ctx: _Context) -> list[Entity]:
    doc = ctx.doc
    after = doc[span.end].lower_ if span.end < len(doc) else ""
    before = doc[span.start - 1].lower_ if span.start > 0 else ""
    if after in _HALF_NOT_BEFORE or before in _HALF_NOT_AFTER:
        return []
    return [ctx.entity(PERCENT, "50", span)]


def _order(span: Span, ctx: _Context) -> list[Entity]:
    digits = re.search(r"[0-9]{5}", span[-1].text)
    return [ctx.entity(ORDER_ID, f"MG-{digits.group(0)}", span)] if digits else []


def _days_of(words: list[str]) -> int | None:
    """['two', 'and', 'a', 'half', 'weeks'] -> 18; None when not a duration we know.
    Rounds half to even (Python's round), so "a week and a half" (10.5) is 10."""
    exact = _exact_days(words)
    return None if exact is None else round(exact)


def _exact_days(words: list[str]) -> Fraction | None:
    words = [w for w in words if w != "-"]
    if words and words[-1] == "ago":
        words = words[:-1]
    half = False
    for i in range(len(words) - 2):
        if words[i : i + 3] == ["and", "a", "half"]:
            words, half = words[:i] + words[i + 3 :], True
            break
    if len(words) == 1 and (match := _DURATION_TOKEN.match(words[0])):
        words = [match.group(1), match.group(2)]
    if not words or words[-1] not in _UNIT_DAYS:
        return None
    unit, quantity_words = words[-1], [w for w in words[:-1] if w != "of"]
    if quantity_words in (["a"], ["an"]):
        quantity: Fraction | None = Fraction(1)
    elif quantity_words in (["half", "a"], ["half", "an"]):
        quantity = Fraction(1, 2)
    elif quantity_words in (["a", "couple"], ["couple"]):
        quantity = Fraction(2)
    elif quantity_words == ["a", "few"]:
        quantity = Fraction(3)
    else:
        number = parse_number(quantity_words)
        quantity = None if number is None else Fraction(number)
    if quantity is None:
        return None
    return (quantity + (Fraction(1, 2) if half else 0)) * _UNIT_DAYS[unit]


def _duration(span: Span, ctx: _Context) -> list[Entity]:
    exact = _exact_days(_words(span))
    if exact is None:
        return []
    # Outages are measured in hours: "6 hours" would be 0 days, so say both.
    return [ctx.entity(DURATION, str(round(exact)), span), ctx.entity(DURATION_HOURS, str(round(exact * 24)), span)]


def _a_unit(span: Span, ctx: _Context) -> list[Entity]:
    """'a week' is a frequency straight after an amount ("$45 a week", "3 days a week"),
    and a duration anywhere else ("it's been a week")."""
    unit = span[-1].lower_
    if ctx.follows_entity(span, (AMOUNT, PERCENT, DURATION, DURATION_HOURS)):
        frequency = _FREQ_OF_UNIT.get(unit)
        # "$5 a day" is a rate we cannot represent; better no entity than a wrong duration.
        return [ctx.entity(FREQUENCY, frequency, span)] if frequency else []
    return _duration(span, ctx)


def _relative(span: Span, ctx: _Context) -> list[Entity]:
    key = " ".join(w for w in _words(span) if w != "the")
    days = _RELATIVE_DAYS.get(key)
    return [] if days is None else [ctx.entity(DURATION, str(days), span)]


def _weekday(span: Span, ctx: _Context) -> list[Entity]:
    """'since Monday': days since the most recent Monday before today. Said on a Monday it
    means last week's Monday (7), since someone meaning today would say "since this morning"."""
    target = _WEEKDAYS.index(span[-1].lower_)
    days = (ctx.today.weekday() - target) % 7 or 7
    return [ctx.entity(DURATION, str(days), span)]


def _freq_value(words: list[str]) -> str | None:
    if words[:1] == ["every"] and len(words) == 3 and words[1] in ("two", "2", "other"):
        return "fortnight" if words[2] in ("week", "weeks") else None
    if {"fortnight", "fortnightly", "biweekly", "bi"} & set(words):
        return "fortnight"
    if {"week", "weekly", "wk"} & set(words):
        return "week"
    if {"month", "monthly", "mo"} & set(words):
        return "month"
    return None


def _freq(span: Span, ctx: _Context) -> list[Entity]:
    value = _freq_value(_words(span))
    return [] if value is None else [ctx.entity(FREQUENCY, value, span)]


def _every_n(span: Span, ctx: _Context) -> list[Entity]:
    """'every 2 weeks' -> fortnight; intervals with no name here ("every 3 days") give none."""
    days = _days_of(_words(span)[1:])
    value = {7: "week", 14: "fortnight", 30: "month"}.get(days or 0)
    return [] if value is None else [ctx.entity(FREQUENCY, value, span)]


def _amount_freq(span: Span, ctx: _Context) -> list[Entity]:
    """'25 a week': a bare number is an amount when a frequency follows it. The pattern id
    ("amount_freq:2") says how many trailing tokens are the frequency."""
    n_freq = int(span.ent_id_.split(":")[1])
    amount, freq = span[: len(span) - n_freq], span[len(span) - n_freq :]
    value, frequency = parse_number(_words(amount)), _freq_value(_words(freq))
    if value is None or frequency is None:
        return []
    return [ctx.entity(AMOUNT, _money_str(value), amount), ctx.entity(FREQUENCY, frequency, freq)]


_NORMALISERS: dict[str, Callable[[Span, _Context], list[Entity]]] = {
    "money": _money,
    "cents": _cents,
    "percent": _percent,
    "half": _half,
    "order": _order,
    "duration": _duration,
    "a_unit": _a_unit,
    "relative": _relative,
    "weekday": _weekday,
    "freq": _freq,
    "every_n": _every_n,
    "amount_freq": _amount_freq,
}


# --- helpers for the actions server --------------------------------------------------


def _loose_words(text: str) -> list[str]:
    return re.findall(r"[a-z]+|[0-9][0-9,]*(?:\.[0-9]+)?|\.[0-9]+", text.lower())


def to_decimal(value: str) -> Decimal:
    """An amount of money from a normalised entity value ("45.00") or from free text
    ("forty-five dollars", "45"), as Decimal cents. Raises CaseError (user-facing) when
    there is no amount in it, or it is negative or absurd (see makegood.money.to_money)."""
    text = str(value).strip()
    if re.fullmatch(r"-?\$?[0-9][0-9,]*(?:\.[0-9]+)?|-?\$?\.[0-9]+", text):
        return to_money(text)
    amounts = [e for e in extract(text) if e.entity == AMOUNT]
    if amounts:
        return to_money(amounts[0].value)
    number = parse_number(_loose_words(text))  # an answer to "how much?": "forty five"
    if number is None:
        raise CaseError(f"could not read an amount of money in {value!r}")
    return to_money(number)


def to_days(value: str) -> int:
    """Whole days from a normalised entity value ("14") or free text ("two weeks", "3").
    Raises CaseError when there is no duration in it or it is negative."""
    if isinstance(value, int) and not isinstance(value, bool):
        days: int | None = value
    else:
        text = str(value).strip()
        if re.fullmatch(r"-?[0-9]+", text):
            days = int(text)
        else:
            durations = [e for e in extract(text) if e.entity == DURATION]
            number = parse_number(_loose_words(text))
            days = (
                int(durations[0].value)
                if durations
                else (None if number is None or number != number.to_integral_value() else int(number))
            )
    if days is None:
        raise CaseError(f"could not read a number of days in {value!r}")
    if days < 0:
        raise CaseError(f"a number of days cannot be negative, got {value!r}")
    return days
