"""The spaCy pipeline, built from code: `spacy.blank("en")` plus entity rulers.

Only spaCy's own `entity_ruler` is used, so the saved pipeline loads with a plain
`spacy.load(path)` (which is what Rasa's SpacyNLP does) without importing Makegood.
Normalising the matched spans into values happens in `extract.py`.

Rulers run in priority order, each with `overwrite_ents=False`: a later ruler only fills
tokens no earlier ruler claimed. Inside one ruler the longest match wins. Priorities:
  1. orders      "order 10421" must never become an amount or part of one
  2. money       explicit currency or percent cues ("$45", "45 bucks", "20%")
  3. time        durations, relative dates, frequencies ("per week"), and a bare number
                 right before a frequency ("25 a week", "50 per month"): an amount. Being
                 longer, "25 per month" beats "per month" in this ruler.
  4. bare        "a week"/"a month", which `extract` reads as a frequency right after an
                 amount ("45 dollars a month") and as a duration anywhere else
  5. half        the word "half" (a percent, unless context says otherwise)
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import spacy
from spacy.language import Language

from makegood.nlp.labels import AMOUNT, DURATION, FREQUENCY, ORDER_ID, PERCENT
from makegood.nlp.numbers import DIGITS_RE, SMALL, TENS, UNITS

Pattern = list[dict[str, Any]]

MARKER = "makegood-pipeline.json"

CURRENCY_WORDS = ["dollar", "dollars", "buck", "bucks", "usd"]
DAY_UNITS = [
    "day",
    "days",
    "week",
    "weeks",
    "wk",
    "wks",
    "fortnight",
    "fortnights",
    "month",
    "months",
    "year",
    "years",
    "yr",
    "yrs",
    "hour",
    "hours",
    "hr",
    "hrs",
]
SINGULAR_UNITS = ["day", "week", "fortnight", "month", "year", "hour"]
FREQ_UNITS = ["week", "month", "fortnight", "wk", "mo"]
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]

_DIGIT: dict[str, Any] = {"TEXT": {"REGEX": DIGITS_RE}}
_FIVE_DIGITS: dict[str, Any] = {"TEXT": {"REGEX": r"^[0-9]{5}$"}}
_MG_TOKEN: dict[str, Any] = {"TEXT": {"REGEX": r"^[Mm][Gg]-?[0-9]{5}$"}}
# One-token forms the tokenizer leaves whole: "USD45", "45usd", "45bucks"; "3days", "48hrs".
_MONEY_TOKEN: dict[str, Any] = {"LOWER": {"REGEX": r"^(?:usd[0-9.,]+|[0-9][0-9.,]*(?:usd|bucks))$"}}
_DURATION_TOKEN: dict[str, Any] = {
    "LOWER": {"REGEX": r"^[0-9]+(?:\.[0-9]+)?(?:days?|hours?|hrs?|weeks?|wks?|months?)$"}
}


def _in(*words: str | list[str], op: str | None = None) -> dict[str, Any]:
    flat: list[str] = []
    for w in words:
        flat.extend([w] if isinstance(w, str) else w)
    token: dict[str, Any] = {"LOWER": {"IN": flat}}
    if op:
        token["OP"] = op
    return token


def number_forms() -> list[Pattern]:
    """Token patterns for one number: digits, or words 0..999 in their valid shapes only,
    so a longer ill-formed run ("five ten dollars") never hides a shorter valid one."""
    ones = [w for w in UNITS if w != "zero"]
    small: list[Pattern] = [
        [_in(list(SMALL))],  # five, fifteen, fifty
        [_in(list(TENS)), _in(ones)],  # forty five
        [_in(list(TENS)), {"ORTH": "-"}, _in(ones)],  # forty-five
    ]
    hundred: Pattern = [_in(ones, "a", "an", op="?"), {"LOWER": "hundred"}]
    forms: list[Pattern] = [[_DIGIT], *small, hundred]
    forms += [hundred + [_in("and", op="?")] + s for s in small]
    return forms


def _each(prefixes: list[Pattern], suffixes: list[Pattern]) -> list[Pattern]:
    return [p + s for p in prefixes for s in suffixes]


# Each rule carries a label (the public entity name) and an id (the normaliser `extract`
# applies to the span; it survives in the span's `ent_id_`).
def _rule(label: str, kind: str, patterns: list[Pattern]) -> list[dict[str, Any]]:
    return [{"label": label, "id": kind, "pattern": p} for p in patterns]


def _order_rules() -> list[dict[str, Any]]:
    ids: list[Pattern] = [[_MG_TOKEN], [{"LOWER": "mg"}, _FIVE_DIGITS], [{"ORTH": "#"}, _FIVE_DIGITS]]
    cue: Pattern = [
        {"LOWER": "order"},
        _in("number", "no", "num", "nr", "id", op="?"),
        {"ORTH": {"IN": [".", ":", "#", "-"]}, "OP": "?"},
    ]
    return _rule(ORDER_ID, "order", ids + _each([cue], [[_FIVE_DIGITS], [_MG_TOKEN]]))


def _money_rules() -> list[dict[str, Any]]:
    nums = number_forms()
    money: list[Pattern] = [
        [{"ORTH": "$"}, _DIGIT],
        [{**_DIGIT, "SPACY": False}, {"ORTH": "$"}],  # "45$", but not "10421 $45"
        [_in("usd", "us$"), _DIGIT],
        [_MONEY_TOKEN],
        *_each(nums, [[_in(CURRENCY_WORDS)]]),
    ]
    percent = _each(nums, [[{"ORTH": "%"}], [_in("percent", "pct")], [{"LOWER": "per"}, {"LOWER": "cent"}]])
    return (
        _rule(AMOUNT, "money", money)
        + _rule(AMOUNT, "cents", _each(nums, [[_in("cent", "cents")]]))
        + _rule(PERCENT, "percent", percent)
    )


def _strict_frequencies() -> list[Pattern]:
    """Phrases that are a frequency wherever they stand (not "a week": see module doc)."""
    return [
        [_in("per", "every", "each", "/"), _in(FREQ_UNITS)],
        [{"LOWER": "once"}, _in("a", "an", "per", "every", "each"), _in(FREQ_UNITS)],
        [_in("weekly", "monthly", "fortnightly", "biweekly")],
        [{"LOWER": "bi"}, {"ORTH": "-"}, {"LOWER": "weekly"}],
        [{"LOWER": "every"}, {"LOWER": "other"}, _in("week", "month")],
    ]


def _time_rules() -> list[dict[str, Any]]:
    nums = number_forms()
    ago = _in("ago", op="?")
    a = _in("a", "an")
    half = [{"LOWER": "and"}, {"LOWER": "a"}, {"LOWER": "half"}]
    durations: list[Pattern] = [
        *_each(nums, [[_in(DAY_UNITS), ago], [{"ORTH": "-"}, _in(SINGULAR_UNITS)]]),
        [_DURATION_TOKEN, ago],
        [a, _in(DAY_UNITS), {"LOWER": "ago"}],
        *_each(nums + [[a]], [[_in(DAY_UNITS)] + half + [ago]]),  # a week and a half
        *_each(nums, [half + [_in(DAY_UNITS), ago]]),  # two and a half weeks
        [_in("a", op="?"), {"LOWER": "couple"}, _in("of", op="?"), _in(DAY_UNITS), ago],
        [{"LOWER": "a"}, {"LOWER": "few"}, _in(DAY_UNITS), ago],
        [{"LOWER": "half"}, _in("a", "an"), _in(DAY_UNITS), ago],
    ]
    relative: list[Pattern] = [
        [_in("yesterday", "today", "tonight")],
        [{"LOWER": "last"}, _in("night", "week", "month", "year", "fortnight")],
        [_in("the", op="?"), {"LOWER": "day"}, {"LOWER": "before"}, {"LOWER": "yesterday"}],
    ]
    weekday: list[Pattern] = [
        [{"LOWER": "since"}, _in("last", op="?"), _in(WEEKDAYS)],
        [{"LOWER": "last"}, _in(WEEKDAYS)],
    ]
    every_n = _each([[{"LOWER": "every"}]], _each(nums, [[_in(DAY_UNITS)]]))
    return (
        _rule(DURATION, "duration", durations)
        + _rule(DURATION, "relative", relative)
        + _rule(DURATION, "weekday", weekday)
        + _rule(FREQUENCY, "freq", _strict_frequencies())
        + _rule(FREQUENCY, "every_n", every_n)
        + _amount_frequency_rules()
    )


def _amount_frequency_rules() -> list[dict[str, Any]]:
    phrases = _strict_frequencies() + [
        [_in("a", "an"), _in(FREQ_UNITS)],
        [{"LOWER": "every"}, _in("two", "2"), {"LOWER": "weeks"}],
    ]
    rules: list[dict[str, Any]] = []
    for phrase in phrases:
        # The id carries the frequency's token count so `extract` can split the span.
        rules += _rule(AMOUNT, f"amount_freq:{len(phrase)}", _each(number_forms(), [phrase]))
    return rules


def _bare_rules() -> list[dict[str, Any]]:
    return _rule(DURATION, "a_unit", [[_in("a", "an"), _in(DAY_UNITS)]])


def _half_rules() -> list[dict[str, Any]]:
    return _rule(PERCENT, "half", [[{"LOWER": "half"}]])


RULERS = [
    ("mg_orders", _order_rules),
    ("mg_money", _money_rules),
    ("mg_time", _time_rules),
    ("mg_bare", _bare_rules),
    ("mg_half", _half_rules),
]


def build_nlp() -> Language:
    """A fresh, deterministic pipeline: blank English tokenizer + the rulers above."""
    nlp = spacy.blank("en")
    for name, rules in RULERS:
        ruler = nlp.add_pipe("entity_ruler", name=name, config={"overwrite_ents": False, "validate": True})
        ruler.add_patterns(rules())  # type: ignore[attr-defined]
    nlp.meta["name"] = "makegood_rules"
    nlp.meta["description"] = "Makegood: money, percents, order ids, durations, frequencies"
    return nlp


def source_hash() -> str:
    """Hash of everything that shapes the saved pipeline: this builder, the number words
    and the spaCy version. A change in any of them makes a saved pipeline stale."""
    digest = hashlib.sha256(spacy.__version__.encode())
    here = Path(__file__).parent
    for name in ("pipeline.py", "numbers.py", "labels.py"):
        digest.update((here / name).read_bytes())
    return digest.hexdigest()


def pipeline_is_current(path: str | Path) -> bool:
    """True when `path` holds a pipeline saved from this exact builder source."""
    marker = Path(path) / MARKER
    try:
        return bool(
            json.loads(marker.read_text())["source_hash"] == source_hash() and (Path(path) / "config.cfg").is_file()
        )
    except (OSError, ValueError, KeyError, TypeError):
        return False


def save_pipeline(path: str | Path) -> Path:
    """Write the pipeline to `path` for `SpacyNLP` (`model: <path>`). Skips the work when
    the saved copy is current. Builds in a temporary sibling directory and swaps it in
    whole, so a crash never leaves half a pipeline behind a valid-looking marker.
    Refuses to replace a non-empty directory that is not a saved Makegood pipeline."""
    target = Path(path)
    if pipeline_is_current(target):
        return target
    if target.exists() and not (target / MARKER).exists() and any(target.iterdir()):
        raise FileExistsError(f"{target} exists and is not a saved Makegood pipeline; not replacing it")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        build_nlp().to_disk(staging)
        (staging / MARKER).write_text(
            json.dumps({"source_hash": source_hash(), "spacy_version": spacy.__version__}, indent=2)
        )
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target
