"""Invariants of the policy engine over generated cases: any situation, any tier, any plausible
facts (some missing), any number of recent exceptions, against the real default catalog."""

from __future__ import annotations

import dataclasses
import itertools
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from makegood.money import cents
from makegood.policy import SITUATIONS, Case, Tier, check, judge_ask, load_catalog, options, parse_catalog, plan_for
from makegood.policy.limits import check_cap
from makegood.policy.payment_plan import fits, minimum_weekly

pytestmark = pytest.mark.unit

POLICY = Path(__file__).parents[2] / "policy"
CATALOG = load_catalog(POLICY)
# The same catalog loaded a second time, independently: same version, so it must decide the same way.
CATALOG_AGAIN = parse_catalog((POLICY / "catalog.yml").read_text(encoding="utf-8"), source="again.yml")

PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Hypothesis does not spread 200 examples evenly over twelve situations (a few get under ten), so the
# properties that matter most run once per situation with fewer examples each.
PER_SITUATION = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])

tiers = st.sampled_from(Tier.ordered())
money = st.decimals(min_value=0, max_value=3000, places=2, allow_nan=False, allow_infinity=False)

FACT_VALUES = {
    "membership": st.sampled_from(["standard", "silver", "gold", "platinum"]),
    "tenure_days": st.integers(0, 3000),
    "recent_exceptions": st.integers(0, 9),
    "order_value": money,
    "days_since_purchase": st.integers(0, 150),
    "days_since_delivery": st.integers(0, 60),
    "days_late": st.integers(0, 30),
    "is_subscription": st.booleans(),
    "monthly_fee": st.decimals(min_value=0, max_value=400, places=2),
    "disputed_amount": money,
    "customer_at_fault": st.booleans(),
    "debt_amount": st.decimals(min_value=0, max_value=120000, places=2),
    "days_past_window": st.integers(0, 80),
    "outage_hours": st.integers(0, 200),
    "price_difference": st.decimals(min_value=0, max_value=600, places=2),
}


@st.composite
def cases(draw, situation=None):
    situation = situation or draw(st.sampled_from(SITUATIONS))
    needs = CATALOG.situation(situation).needs
    complete = draw(st.booleans())  # half the cases have every needed fact, the rest may lack some
    facts = {}
    for name, values in FACT_VALUES.items():
        present = draw(st.integers(0, 3)) > 0 or (complete and name in needs)
        if present:
            value = draw(values)
            # Facts arrive as text (slots, JSON), as numbers, or typed: all must mean the same.
            facts[name] = str(value) if isinstance(value, Decimal) and draw(st.booleans()) else value
    return Case.build(CATALOG, situation, facts)


def _rule(option_or_rule_id):
    rule_id = getattr(option_or_rule_id, "rule", option_or_rule_id)
    for situation in CATALOG.situations.values():
        for rule in situation.remedies:
            if rule.id == rule_id:
                return rule
    raise AssertionError(f"{rule_id} is not a rule in the catalog")


def assert_within_caps(option, case, tier):
    """The one invariant the business cares most about: nothing offered above the actor's caps."""
    rule = _rule(option)
    assert option.required_tier <= tier, option
    assert check_cap(CATALOG, rule, tier, option.size, case.facts).ok, option
    cap = rule.caps[tier]
    if option.kind == "money":
        assert isinstance(option.size, Decimal)
        if cap.max_amount is not None:
            assert option.size <= cap.max_amount, option
        if cap.max_percent is not None:
            # The percent cap is itself a money amount, rounded to the cent like every other.
            assert option.size <= cents(Decimal(case.facts["order_value"]) * cap.max_percent / 100), option
    elif option.kind == "days":
        assert isinstance(option.size, int) and not isinstance(option.size, bool)
        if cap.max_days is not None:
            assert option.size <= cap.max_days, option
    else:
        assert option.size <= CATALOG.plans.max_debt[tier], option


# -- (a) no offer ever exceeds the actor's caps ------------------------------------------------------


@pytest.mark.parametrize("situation", SITUATIONS)
@PER_SITUATION
@given(data=st.data(), tier=tiers)
def test_no_offer_exceeds_the_actors_caps(situation, data, tier):
    case = data.draw(cases(situation))
    result = options(CATALOG, case, tier)
    for offer in result.offers:
        assert_within_caps(offer, case, tier)
        if offer.reduced_from is not None:
            assert offer.size < offer.reduced_from and _rule(offer).adjustable
        # check() agrees with options(): whatever is offered may be given, at that exact size.
        assert check(CATALOG, case, offer.remedy, offer.size, tier).allowed, offer
    for option in result.beyond:
        assert option.required_tier > tier
        assert not check_cap(CATALOG, _rule(option), tier, option.size, case.facts).ok
        assert check_cap(CATALOG, _rule(option), option.required_tier, option.size, case.facts).ok


@pytest.mark.parametrize("situation", SITUATIONS)
@PER_SITUATION
@given(data=st.data(), tier=tiers)
def test_check_never_allows_above_the_actors_caps(situation, data, tier):
    case = data.draw(cases(situation))
    situation = CATALOG.situation(case.situation)
    remedy = data.draw(st.sampled_from([r.remedy for r in situation.remedies] + ["full_refund", "payment_plan"]))
    kind = CATALOG.remedies[remedy].kind
    size = data.draw(st.none() | (st.integers(0, 120) if kind == "days" else money.map(str)))
    verdict = check(CATALOG, case, remedy, size, tier)
    assert verdict.policy_version == CATALOG.version and verdict.rules
    if verdict.allowed:
        assert verdict.required_tier <= tier
        assert check_cap(CATALOG, _rule(verdict.rules[0]), tier, verdict.size, case.facts).ok
    if verdict.status == "needs_tier":
        assert verdict.required_tier > tier and verdict.handoff.tier == verdict.required_tier


@PROPERTY
@given(cases(), tiers, money)
def test_fair_ask_never_grants_or_counters_above_the_cap(case, tier, asked):
    result = judge_ask(CATALOG, case, tier, amount=asked)
    for option in (result.accepted, result.counter, *result.alternatives):
        if option is not None:
            assert_within_caps(option, case, tier)
    if result.accepted is not None:
        assert result.accepted.size == asked
    if result.counter is not None:
        # A counter never gives more than was asked for unless it is our own opening offer.
        opening = next(o for o in options(CATALOG, case, tier).offers if o.rule == result.counter.rule)
        assert result.counter.size <= max(asked, opening.size)


# -- (b) never a bare no ------------------------------------------------------------------------


@PROPERTY
@given(cases(), tiers)
def test_every_option_set_has_offers_or_a_handoff(case, tier):
    result = options(CATALOG, case, tier)
    assert result.offers or result.handoff is not None
    if result.handoff is not None:
        assert result.handoff.reason and result.handoff.tier >= CATALOG.handoff_tier
    if result.next_step == "ask_facts":
        assert result.missing_facts


@PROPERTY
@given(cases(), tiers, st.data())
def test_every_refusal_has_alternatives_or_a_handoff(case, tier, data):
    remedy = data.draw(st.sampled_from(sorted(CATALOG.remedies)))
    kind = CATALOG.remedies[remedy].kind
    size = data.draw(st.none() | (st.integers(0, 120) if kind == "days" else money.map(str)))
    verdict = check(CATALOG, case, remedy, size, tier)
    if not verdict.allowed:
        assert verdict.alternatives or verdict.handoff is not None
        assert verdict.reason
    if verdict.status == "needs_facts":
        assert verdict.missing_facts


@PROPERTY
@given(cases(), tiers, money)
def test_every_fair_ask_has_an_answer(case, tier, asked):
    result = judge_ask(CATALOG, case, tier, amount=asked)
    assert result.accepted or result.counter or result.alternatives or result.handoff
    assert (result.verdict == "accept") == (result.accepted is not None)
    if result.verdict == "handoff":
        assert result.handoff is not None


debts = st.decimals(min_value=Decimal("0.01"), max_value=120000, places=2)
weeklies = st.decimals(min_value=0, max_value=3000, places=2)


@PROPERTY
@given(debts, weeklies, tiers)
def test_every_plan_answer_has_a_plan_alternatives_or_a_handoff(debt, weekly, tier):
    result = plan_for(CATALOG, debt, weekly, tier)
    assert result.plan or result.alternatives or result.handoff
    assert (result.status == "accepted") == (result.plan is not None)
    policy = CATALOG.plans
    if result.plan is not None:
        assert result.plan.weekly == weekly and fits(policy, tier, debt, weekly) is None
    for plan in result.alternatives:  # compliant at this tier (a first payment shortens the weekly term)
        assert plan.required_tier == tier and plan.weeks <= policy.max_weeks[tier]
        assert plan.weekly >= minimum_weekly(policy, debt) and debt <= policy.max_debt[tier]
        if plan.first_payment is None:
            assert fits(policy, tier, debt, plan.weekly) is None
    if result.approval is not None:
        assert result.approval.weekly == weekly and result.approval.required_tier > tier
        assert fits(policy, result.approval.required_tier, debt, weekly) is None
        assert result.handoff.tier == result.approval.required_tier
    for plan in (result.plan, *result.alternatives, result.approval):
        if plan is not None:
            assert sum(plan.schedule) == debt  # to the cent
            assert all(payment > 0 for payment in plan.schedule)
            assert plan.final_payment <= plan.weekly


# -- (c) determinism --------------------------------------------------------------------------


@PROPERTY
@given(cases(), tiers, money)
def test_same_case_same_catalog_version_same_answer(case, tier, asked):
    assert CATALOG_AGAIN.version == CATALOG.version
    again = Case.build(CATALOG_AGAIN, case.situation, dict(case.facts))
    assert again == case
    assert options(CATALOG, case, tier) == options(CATALOG, case, tier) == options(CATALOG_AGAIN, again, tier)
    assert judge_ask(CATALOG, case, tier, amount=asked) == judge_ask(CATALOG_AGAIN, again, tier, amount=asked)
    for remedy in [r.remedy for r in CATALOG.situation(case.situation).remedies]:
        assert check(CATALOG, case, remedy, None, tier) == check(CATALOG_AGAIN, again, remedy, None, tier)


@PROPERTY
@given(debts, weeklies, tiers)
def test_plans_are_deterministic(debt, weekly, tier):
    assert plan_for(CATALOG, debt, weekly, tier) == plan_for(CATALOG_AGAIN, str(debt), str(weekly), tier)


# -- (d) more authority never offers less ------------------------------------------------------------
#
# What holds, and why: caps are monotonic in tier (the validator checks), as are the frequency limits.
# So every rule offered at tier t is offered at every higher tier, at a size at least as large: at full
# size if it was full size at t, and if it was cut to t's cap, then either at full size or cut to the
# higher tier's cap, which is no lower. Hence the remedies offered at a higher tier are a superset.


@pytest.mark.parametrize("situation", SITUATIONS)
@PER_SITUATION
@given(data=st.data())
def test_more_authority_never_offers_less(situation, data):
    case = data.draw(cases(situation))
    results = [options(CATALOG, case, tier) for tier in Tier.ordered()]
    for lower, higher in itertools.pairwise(results):
        higher_by_rule = {o.rule: o for o in higher.offers}
        for offer in lower.offers:
            assert offer.rule in higher_by_rule, (offer, higher.tier)
            assert higher_by_rule[offer.rule].size >= offer.size
        assert {o.remedy for o in lower.offers} <= {o.remedy for o in higher.offers}
        assert {o.rule for o in higher.beyond} <= {o.rule for o in lower.beyond} | {o.rule for o in lower.offers}
        assert higher.missing_facts == lower.missing_facts and higher.blocked == lower.blocked


@PROPERTY
@given(cases(), tiers)
def test_offers_follow_the_catalogs_ranking(case, tier):
    order = [r.id for r in CATALOG.situation(case.situation).remedies]
    ranks = [order.index(o.rule) for o in options(CATALOG, case, tier).offers]
    assert ranks == sorted(ranks) and len(set(ranks)) == len(ranks)


# -- (e) money never becomes float --------------------------------------------------------------


def _no_float(value, path="result"):
    assert not isinstance(value, float), f"float at {path}: {value!r}"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            _no_float(getattr(value, f.name), f"{path}.{f.name}")
    elif isinstance(value, (dict, MappingProxyType)):
        for k, v in value.items():
            _no_float(v, f"{path}[{k!r}]")
    elif isinstance(value, (list, tuple, set, frozenset)):
        for i, v in enumerate(value):
            _no_float(v, f"{path}[{i}]")


@PROPERTY
@given(cases(), tiers, money, st.floats(min_value=0, max_value=3000, allow_nan=False, allow_infinity=False))
def test_money_never_becomes_float(case, tier, asked, float_ask):
    _no_float(case)
    _no_float(case.as_json())
    result = options(CATALOG, case, tier)
    _no_float(result)
    for o in result.offers + result.beyond:
        _no_float(o.as_json())
    for remedy in [r.remedy for r in CATALOG.situation(case.situation).remedies]:
        _no_float(check(CATALOG, case, remedy, None, tier))
    _no_float(judge_ask(CATALOG, case, tier, amount=asked))
    # Even a float typed in by a caller comes back as Decimal cents.
    float_result = judge_ask(CATALOG, case, tier, amount=float_ask)
    _no_float(float_result)
    assert float_result.asked == Decimal(repr(float_ask)).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")


@PROPERTY
@given(debts, weeklies, tiers)
def test_plans_never_hold_floats(debt, weekly, tier):
    result = plan_for(CATALOG, float(debt), float(weekly), tier)
    _no_float(result)
    for plan in (result.plan, *result.alternatives, result.approval):
        if plan is not None:
            _no_float(plan.as_json())
            _no_float(plan.schedule)


def test_the_generator_reaches_offers_handoffs_and_questions():
    """Guard against a strategy that silently produces only one kind of case."""
    from hypothesis import find

    find(cases(), lambda c: options(CATALOG, c, Tier.SELF_SERVICE).next_step == "offer")
    find(cases(), lambda c: options(CATALOG, c, Tier.SELF_SERVICE).next_step == "ask_facts")
    find(cases(), lambda c: options(CATALOG, c, Tier.SELF_SERVICE).next_step == "handoff")
    find(cases(), lambda c: any(o.reduced_from is not None for o in options(CATALOG, c, Tier.AGENT).offers))
