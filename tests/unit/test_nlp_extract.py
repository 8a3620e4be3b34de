"""What Makegood reads out of a customer's message, and how it writes it down.

Each table row is: what the customer typed -> the entities found, as
(entity, normalised value, the words it came from). A row with no entities is a promise
that nothing is found.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from makegood.errors import CaseError
from makegood.nlp import Entity, extract, labels, to_days, to_decimal

pytestmark = pytest.mark.unit

WEDNESDAY = date(2024, 5, 15)


def found(text: str, today: date = WEDNESDAY) -> list[tuple[str, str, str]]:
    """Entities as (label, value, text). duration_hours shadows every duration_days span, so
    the tables leave it out and `test_durations_in_hours` checks it on its own."""
    return [(e.entity, e.value, e.text) for e in extract(text, today=today) if e.entity != "duration_hours"]


def hours(text: str) -> list[str]:
    return [e.value for e in extract(text, today=WEDNESDAY) if e.entity == "duration_hours"]


def table(*rows: tuple[str, list[tuple[str, str, str]]]):
    return pytest.mark.parametrize("text, expected", rows, ids=[r[0] for r in rows])


# --- money: "amount", a Decimal string with two places ------------------------------


@table(
    ("$45", [("amount", "45.00", "$45")]),
    ("45 bucks", [("amount", "45.00", "45 bucks")]),
    ("forty-five dollars", [("amount", "45.00", "forty-five dollars")]),
    ("forty five dollars", [("amount", "45.00", "forty five dollars")]),
    ("USD 45.50", [("amount", "45.50", "USD 45.50")]),
    ("45.5 dollars", [("amount", "45.50", "45.5 dollars")]),
    ("$1,299.99", [("amount", "1299.99", "$1,299.99")]),
    ("a hundred dollars", [("amount", "100.00", "a hundred dollars")]),
    ("one hundred and twenty dollars", [("amount", "120.00", "one hundred and twenty dollars")]),
    ("nine hundred ninety nine bucks", [("amount", "999.00", "nine hundred ninety nine bucks")]),
    ("I just want $30 back", [("amount", "30.00", "$30")]),
    ("they charged me 45$", [("amount", "45.00", "45$")]),
    ("USD45 or 45usd", [("amount", "45.00", "USD45"), ("amount", "45.00", "45usd")]),
    ("a 50 cents fee", [("amount", "0.50", "50 cents")]),
    ("$.99", [("amount", "0.99", "$.99")]),
    ("zero dollars", [("amount", "0.00", "zero dollars")]),
)
def test_money_is_read_as_an_amount(text, expected):
    assert found(text) == expected


@table(
    ("I can do 25 a week", [("amount", "25.00", "25"), ("frequency", "week", "a week")]),
    ("I can do twenty five a week", [("amount", "25.00", "twenty five"), ("frequency", "week", "a week")]),
    ("25 per month", [("amount", "25.00", "25"), ("frequency", "month", "per month")]),
    ("50 every two weeks", [("amount", "50.00", "50"), ("frequency", "fortnight", "every two weeks")]),
    ("$45 a month", [("amount", "45.00", "$45"), ("frequency", "month", "a month")]),
    ("45 dollars a month", [("amount", "45.00", "45 dollars"), ("frequency", "month", "a month")]),
    ("$45/month", [("amount", "45.00", "$45"), ("frequency", "month", "/month")]),
)
def test_a_bare_number_before_a_frequency_is_an_amount(text, expected):
    assert found(text) == expected


@table(
    ("order 10421", [("order_id", "MG-10421", "order 10421")]),
    ("3 days", [("duration_days", "3", "3 days")]),
    ("I gave it 5 stars", []),
    ("I was charged 45 and it should be 30", []),
    ("twenty five quid", []),
    ("€45 or 45 euros", []),
    ("$1,2345", []),  # malformed thousands: better nothing than a guess
    ("one two three", []),
)
def test_numbers_without_a_currency_cue_are_not_amounts(text, expected):
    assert found(text) == expected


# --- percent: "20", "12.5" -----------------------------------------------------------


@table(
    ("20%", [("percent", "20", "20%")]),
    ("12.5%", [("percent", "12.5", "12.5%")]),
    ("20 percent", [("percent", "20", "20 percent")]),
    ("twenty per cent", [("percent", "20", "twenty per cent")]),
    ("half", [("percent", "50", "half")]),
    ("Half?", [("percent", "50", "Half")]),
    ("half the price", [("percent", "50", "half")]),
    ("can I get half back", [("percent", "50", "half")]),
)
def test_percentages(text, expected):
    assert found(text) == expected


@table(
    ("a week and a half", [("duration_days", "10", "a week and a half")]),
    ("half an hour", [("duration_days", "0", "half an hour")]),
    ("half a day", [("duration_days", "0", "half a day")]),
    ("half a month", [("duration_days", "15", "half a month")]),
)
def test_half_is_not_a_percent_when_it_measures_time(text, expected):
    assert found(text) == expected


# --- order ids: canonical MG-10421 ---------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "MG-10421",
        "mg10421",
        "MG 10421",
        "#10421",
        "order 10421",
        "order number 10421",
        "order no. 10421",
        "Order No. 10421",
        "order #10421",
        "order: 10421",
        "order MG-10421",
        "mg-10421",
    ],
)
def test_order_ids_are_canonical(text):
    assert found(f"my {text} is late") == [("order_id", "MG-10421", text)]


@pytest.mark.parametrize("text", ["order 1042", "order 104211", "mg104211", "ref 10421", "10421"])
def test_order_ids_have_exactly_five_digits_and_a_cue(text):
    assert found(text) == []


# --- durations and relative dates: whole days ---------------------------------------


@table(
    ("two weeks", [("duration_days", "14", "two weeks")]),
    ("3 days", [("duration_days", "3", "3 days")]),
    ("one day", [("duration_days", "1", "one day")]),
    ("a month", [("duration_days", "30", "a month")]),
    ("it has been a week", [("duration_days", "7", "a week")]),
    ("a fortnight", [("duration_days", "14", "a fortnight")]),
    ("a week and a half", [("duration_days", "10", "a week and a half")]),  # 10.5, rounded
    ("two and a half weeks", [("duration_days", "18", "two and a half weeks")]),
    ("1.5 weeks", [("duration_days", "10", "1.5 weeks")]),
    ("48 hours", [("duration_days", "2", "48 hours")]),
    ("24hrs", [("duration_days", "1", "24hrs")]),
    ("3days", [("duration_days", "3", "3days")]),
    ("a 10-day delay", [("duration_days", "10", "10-day")]),
    ("2 wks", [("duration_days", "14", "2 wks")]),
    ("a couple of days", [("duration_days", "2", "a couple of days")]),
    ("a few weeks", [("duration_days", "21", "a few weeks")]),
)
def test_durations_in_days(text, expected):
    assert found(text) == expected


@table(
    ("3 days ago", [("duration_days", "3", "3 days ago")]),
    ("a month ago", [("duration_days", "30", "a month ago")]),
    ("yesterday", [("duration_days", "1", "yesterday")]),
    ("the day before yesterday", [("duration_days", "2", "the day before yesterday")]),
    ("today", [("duration_days", "0", "today")]),
    ("last week", [("duration_days", "7", "last week")]),
    ("last month", [("duration_days", "30", "last month")]),
    # today is Wednesday 15 May 2024
    ("since Monday", [("duration_days", "2", "since Monday")]),
    ("since Sunday", [("duration_days", "3", "since Sunday")]),
    ("since last Friday", [("duration_days", "5", "since last Friday")]),
    ("last Thursday", [("duration_days", "6", "last Thursday")]),
    # said on a Wednesday, "since Wednesday" means last week's
    ("since Wednesday", [("duration_days", "7", "since Wednesday")]),
)
def test_relative_dates_are_days_ago(text, expected):
    assert found(text) == expected


def test_since_monday_depends_on_today():
    assert found("since Monday", today=date(2024, 5, 18)) == [("duration_days", "5", "since Monday")]


# --- frequencies: week, month, fortnight ---------------------------------------------


@table(
    ("per week", [("frequency", "week", "per week")]),
    ("weekly", [("frequency", "week", "weekly")]),
    ("every week", [("frequency", "week", "every week")]),
    ("each week", [("frequency", "week", "each week")]),
    ("once a week", [("frequency", "week", "once a week")]),
    ("per month", [("frequency", "month", "per month")]),
    ("monthly", [("frequency", "month", "monthly")]),
    ("every month", [("frequency", "month", "every month")]),
    ("every two weeks", [("frequency", "fortnight", "every two weeks")]),
    ("every 2 weeks", [("frequency", "fortnight", "every 2 weeks")]),
    ("every other week", [("frequency", "fortnight", "every other week")]),
    ("biweekly", [("frequency", "fortnight", "biweekly")]),
    ("bi-weekly", [("frequency", "fortnight", "bi-weekly")]),
    ("fortnightly", [("frequency", "fortnight", "fortnightly")]),
    ("3 days a week", [("duration_days", "3", "3 days"), ("frequency", "week", "a week")]),
    ("every 3 days", []),  # no name for that interval: nothing rather than a wrong duration
)
def test_frequencies(text, expected):
    assert found(text) == expected


# --- whole messages -------------------------------------------------------------------


def test_a_full_message():
    text = "Order MG-10421 arrived 3 days late and broken, I paid $1,299.99 - can I get 20% back?"
    assert found(text) == [
        ("order_id", "MG-10421", "Order MG-10421"),
        ("duration_days", "3", "3 days"),
        ("amount", "1299.99", "$1,299.99"),
        ("percent", "20", "20%"),
    ]


def test_an_order_number_is_never_swallowed_by_a_duration_or_amount():
    assert found("order 10421 a month ago") == [
        ("order_id", "MG-10421", "order 10421"),
        ("duration_days", "30", "a month ago"),
    ]


def test_entities_are_frozen_values_with_offsets():
    [e] = extract("refund $45 please")
    assert e == Entity("amount", "45.00", 7, 10, "$45")
    with pytest.raises(AttributeError):
        e.value = "1.00"  # type: ignore[misc]


# --- robustness -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "\n",
        "😀",
        "😀 $45 😀",
        "für 20 %",
        "\x00",
        "\ud800",
        "$" * 500,
        "order " * 300,
        "-" * 1000,
        # runs that make spaCy's tokenizer quadratic (~15 s untamed)
        "$" * 10_000,
        "😀" * 10_000,
        "!" * 10_000,
    ],
)
def test_odd_input_never_raises(text):
    for e in extract(text):
        assert text[e.start : e.end] == e.text


def test_surrogates_and_long_runs_keep_offsets_into_the_callers_text():
    text = "\ud800 " + "x" * 200 + " refund $45"
    assert [(e.value, e.start, e.text) for e in extract(text)] == [("45.00", 210, "$45")]


CUES = [
    "$",
    "45",
    "1,299.99",
    "forty",
    "-",
    "five",
    "a",
    "hundred",
    "and",
    "dollars",
    "bucks",
    "usd",
    "%",
    "percent",
    "per",
    "cent",
    "half",
    "order",
    "no",
    ".",
    "#",
    "10421",
    "MG",
    "mg10421",
    "week",
    "weeks",
    "days",
    "ago",
    "since",
    "monday",
    "last",
    "every",
    "two",
    "weekly",
    "😀",
    "\n",
    ",",
    "48hrs",
    "cents",
    "once",
    "other",
    "bi",
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.text(max_size=300),
        st.text(st.characters(), max_size=50),  # includes lone surrogates
        st.lists(st.one_of(st.sampled_from(CUES), st.text(max_size=5)), max_size=40).map(" ".join),
    )
)
def test_extract_never_raises_and_spans_point_into_the_text(text):
    entities = extract(text)
    for e in entities:
        assert 0 <= e.start < e.end <= len(text)
        assert text[e.start : e.end] == e.text
        assert e.entity in labels.ALL
    assert [e.start for e in entities] == sorted(e.start for e in entities)


def test_a_ten_thousand_character_message():
    filler = "blah " * 1999  # 9,995 characters
    text = filler + "$45."
    assert len(text) == 9999
    assert [(e.entity, e.value, e.start) for e in extract(text)] == [("amount", "45.00", 9995)]


def test_very_long_text_is_read_in_pieces_with_true_offsets(monkeypatch):
    # makegood.nlp.extract is also the name of the function; fetch the module itself
    monkeypatch.setattr(sys.modules["makegood.nlp.extract"], "_CHUNK", 40)
    text = "I waited 3 days.\n" * 20 + "order 10421"
    entities = extract(text)
    # each "3 days" is both 3 days and 72 hours; then the order number
    assert [e.entity for e in entities] == ["duration_days", "duration_hours"] * 20 + ["order_id"]
    assert all(text[e.start : e.end] == e.text for e in entities)
    assert entities[-1].value == "MG-10421"


def test_importing_does_not_load_spacy():
    code = "import sys, makegood.nlp; assert 'spacy' not in sys.modules, 'spacy imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


# --- helpers for the actions server --------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        ("45.00", Decimal("45.00")),
        ("$1,299.99", Decimal("1299.99")),
        ("45", Decimal("45.00")),
        ("forty-five dollars", Decimal("45.00")),
        ("about 30 bucks", Decimal("30.00")),
        ("forty five", Decimal("45.00")),
    ],
)
def test_to_decimal(value, expected):
    assert to_decimal(value) == expected


@pytest.mark.parametrize("value", ["", "no idea", "-5", "$5000000"])
def test_to_decimal_refuses_what_is_not_a_reasonable_amount(value):
    with pytest.raises(CaseError):
        to_decimal(value)


@pytest.mark.parametrize(
    "value, expected",
    [
        ("14", 14),
        ("0", 0),
        ("two weeks", 14),
        ("3 days ago", 3),
        ("fourteen", 14),
        ("yesterday", 1),
    ],
)
def test_to_days(value, expected):
    assert to_days(value) == expected


@pytest.mark.parametrize("value", ["", "soon", "-3", "2.5"])
def test_to_days_refuses_what_is_not_a_number_of_days(value):
    with pytest.raises(CaseError):
        to_days(value)


# --- duration_hours: outages are measured in hours -----------------------------------
@pytest.mark.parametrize(
    "text, expected",
    [
        ("it was down for 6 hours", ["6"]),
        ("offline for two days", ["48"]),
        ("half a day without service", ["12"]),
        ("down 90 minutes", []),  # minutes are not a unit we read; better nothing than a guess
        ("$45", []),
    ],
)
def test_durations_in_hours(text, expected):
    assert hours(text) == expected
