"""The compiled engine (policy/compiled.py) against the reference one, on generated cases.

`options` and `check` evaluate tables compiled once per catalog; `reference_options` and
`reference_check` are the same decisions written plainly over the catalog. For every situation of
every shipped catalog (policy/ and each pack in policy-packs/), any tier, facts of every declared type
(some missing, some at the edges of the rules), with or without a history of earlier grants, the two
must give equal answers, or fail with the same error."""

from __future__ import annotations

import gc
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from makegood.errors import MakegoodError
from makegood.policy import Case, Tier, check, load_catalog, options
from makegood.policy.check import reference_check
from makegood.policy.compiled import _CACHE, compiled
from makegood.policy.cumulative import Grant, History
from makegood.policy.options import reference_options

pytestmark = pytest.mark.unit

ROOT = Path(__file__).parents[2]
CATALOG_PATHS = [ROOT / "policy", *sorted(p for p in (ROOT / "policy-packs").iterdir() if p.is_dir())]
CATALOGS = {path.name if path.name != "policy" else "retail": load_catalog(path) for path in CATALOG_PATHS}
SITUATIONS = [(name, sid) for name, catalog in CATALOGS.items() for sid in catalog.situation_ids]

EXAMPLES = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TODAY = date(2026, 12, 2)

tiers = st.sampled_from(Tier.ordered())
money = st.decimals(min_value=0, max_value=3000, places=2, allow_nan=False, allow_infinity=False)


def _bounds(catalog, fact):
    """The numbers the catalog's conditions compare `fact` with: cases on and around them matter most."""
    found = set()

    def walk(condition):
        if hasattr(condition, "parts"):
            for part in condition.parts:
                walk(part)
        elif hasattr(condition, "part"):
            walk(condition.part)
        elif condition.fact == fact and condition.op in ("min", "max", "above", "below"):
            found.add(Decimal(str(condition.operand)))

    for situation in catalog.situations.values():
        for condition in (*situation.eligible, *situation.ordinary, *(c for r in situation.remedies for c in r.when)):
            walk(condition)
    return sorted(found)


def _value(catalog, spec):
    edges = _bounds(catalog, spec.name)
    if spec.type == "money":
        near = [st.just(b + d) for b in edges for d in (Decimal("-0.01"), 0, Decimal("0.01")) if b + d >= 0]
        plain = st.one_of(money, *near) if near else money
        return st.one_of(plain, plain.map(str))  # facts arrive typed or as text
    if spec.type == "bool":
        return st.booleans()
    if spec.type == "enum":
        return st.sampled_from(spec.values)
    top = {"days": 400, "count": 12, "month": 300, "hour": 400}[spec.type]
    near = [st.just(int(b) + d) for b in edges for d in (-1, 0, 1) if int(b) + d >= 0]
    return st.one_of(st.integers(0, top), *near) if near else st.integers(0, top)


@st.composite
def histories(draw, catalog):
    if draw(st.booleans()):
        return None
    order_id = draw(st.sampled_from([None, "A1", "A2"]))
    grants = draw(
        st.lists(
            st.builds(
                Grant,
                remedy=st.sampled_from(sorted(catalog.remedies)),
                order_id=st.sampled_from([None, "A1", "A2"]),
                amount=money,
                granted_on=st.integers(0, 200).map(lambda d: TODAY - timedelta(days=d)),
            ),
            max_size=4,
        )
    )
    return History(order_id=order_id, today=TODAY, grants=tuple(grants))


@st.composite
def cases(draw, catalog, situation):
    needs = catalog.situation(situation).needs
    complete = draw(st.booleans())
    facts = {}
    for name, spec in catalog.facts.items():
        if draw(st.integers(0, 3)) > 0 or (complete and name in needs):
            facts[name] = draw(_value(catalog, spec))
    return Case.build(catalog, situation, facts, history=draw(histories(catalog)))


def _size(draw, catalog, remedy):
    kind = catalog.remedies[remedy].kind
    if kind in ("item", "none"):
        return draw(st.sampled_from([None, "", "5"]))
    if kind == "days":
        return draw(st.none() | st.integers(0, 120) | st.integers(0, 120).map(str))
    return draw(st.none() | money.map(str) | money)


def _same(compiled_call, reference_call):
    """Equal answers, or the same error with the same message."""
    try:
        expected = reference_call()
    except (MakegoodError, ArithmeticError, TypeError, KeyError) as exc:
        with pytest.raises(type(exc)) as raised:
            compiled_call()
        assert str(raised.value) == str(exc)
        return
    assert compiled_call() == expected


@pytest.mark.parametrize(("name", "situation"), SITUATIONS)
@EXAMPLES
@given(data=st.data(), tier=tiers)
def test_compiled_options_equal_the_reference(name, situation, data, tier):
    catalog = CATALOGS[name]
    case = data.draw(cases(catalog, situation))
    _same(lambda: options(catalog, case, tier), lambda: reference_options(catalog, case, tier))


@pytest.mark.parametrize(("name", "situation"), SITUATIONS)
@EXAMPLES
@given(data=st.data(), tier=tiers)
def test_compiled_check_equals_the_reference(name, situation, data, tier):
    catalog = CATALOGS[name]
    case = data.draw(cases(catalog, situation))
    own = [r.remedy for r in catalog.situation(situation).remedies]
    remedy = data.draw(st.sampled_from(own) | st.sampled_from(sorted(catalog.remedies)))
    size = _size(data.draw, catalog, remedy)
    _same(lambda: check(catalog, case, remedy, size, tier), lambda: reference_check(catalog, case, remedy, size, tier))


@pytest.mark.parametrize("name", sorted(CATALOGS))
def test_odd_inputs_take_the_reference_path_and_agree(name):
    """What the compiled path does not read itself (a Case not made by Case.build, a tier given as
    text, an unknown situation) is answered, or refused, by the reference path: the same either way."""
    catalog = CATALOGS[name]
    situation = catalog.situation_ids[0]
    odd = [
        Case(situation=situation, facts={"recent_exceptions": "1"}),
        Case(situation=situation, facts={"recent_exceptions": True}),
        Case(situation="no_such_situation", facts={}),
    ]
    for case in odd:
        for tier in (*Tier.ordered(), "agent"):
            _same(lambda: options(catalog, case, tier), lambda: reference_options(catalog, case, tier))  # noqa: B023 - called at once


def test_tables_are_built_once_per_catalog_and_dropped_with_it():
    catalog = load_catalog(ROOT / "policy")
    tables = compiled(catalog)
    assert compiled(catalog) is tables
    assert compiled(load_catalog(ROOT / "policy")) is not tables  # same version, another object: its own tables
    key = id(catalog)
    del catalog
    gc.collect()
    assert key not in _CACHE or _CACHE[key][1] is not tables
