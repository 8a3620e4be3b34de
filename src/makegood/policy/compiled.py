"""The catalog compiled for evaluation, once per Catalog object.

`options()` and `check()` are called on every bot turn and every copilot suggestion, always against
the same few catalogs. Everything in their answers that depends only on the catalog is worked out
here, once, the first time a catalog is evaluated: the conditions as closures with their bounds
parsed (`conditions.compile_condition`), each rule's size formula, and for every rule and tier the
cap's numbers and the very `CapCheck` answers `limits.check_cap` would build (cap-rule names and
reasons included), the handoff targets per tier, the rules of each remedy. Per call, only the case
is read.

Safe because a Catalog is immutable (frozen data classes; nothing in the code base mutates their
mappings): the same object always gives the same tables. The cache is keyed by the catalog object's
identity and held only as long as the catalog lives (a weak reference), so two catalogs, even of the
same version, never share tables, and a catalog dropped by a reload frees its tables.

The functions of limits.py and the reference paths of options.py and check.py stay the readable
statement of the rules; these tables compute the same answers (tests/unit/test_policy_compiled.py
compares the two on generated cases of every shipped catalog).
"""

from __future__ import annotations

import dataclasses
import weakref
from collections.abc import Callable, Mapping
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import TypeVar

from makegood.money import CENT, cents, fmt
from makegood.policy.conditions import CompiledConditions, Missing, as_number
from makegood.policy.cumulative import Limit
from makegood.policy.limits import CapCheck, Size
from makegood.policy.model import SIZELESS_KINDS, Catalog, RemedyRule, Situation
from makegood.policy.tiers import Tier

TIERS: tuple[Tier, ...] = Tier.ordered()
RANK: dict[Tier, int] = {t: i for i, t in enumerate(TIERS)}
ARTICLE: tuple[str, ...] = tuple(t.a for t in TIERS)  # Tier.a ("an agent"), by rank


T = TypeVar("T")


def fast_constructor(cls: type[T]) -> Callable[..., T]:
    """`cls(**fields)` for a frozen dataclass, filling the new instance's `__dict__` at once instead of
    calling `object.__setattr__` once per field (what the generated `__init__` of a frozen class does,
    at about twice the cost). The instance is the same: same type, same fields, equal, frozen. Only for a
    class whose `__init__` does nothing else (every field an init field, no `__post_init__`, no slots);
    any other class is returned as it is. Callers pass every field by name."""
    if (
        not dataclasses.is_dataclass(cls)
        or hasattr(cls, "__post_init__")
        or "__slots__" in cls.__dict__
        or any(not f.init for f in dataclasses.fields(cls))
    ):
        return cls
    new = object.__new__

    def build(**values: object) -> T:
        instance = new(cls)
        instance.__dict__.update(values)
        return instance

    return build


def recent_exceptions(facts: Mapping[str, object]) -> int | None:
    """`whole(facts.get("recent_exceptions") or 0)` as limits.frequency_check reads it, when the fact
    is an int (as Case.build types it) or not given; None otherwise (the caller takes the reference path,
    which reads it, or fails on it, exactly where it always did)."""
    value = facts.get("recent_exceptions") or 0
    return value if type(value) is int else None


class TierCap:
    """One rule's cap at one tier, with every answer of `limits.check_cap` that does not depend on
    the size or the case built in advance."""

    __slots__ = (
        "absent",
        "freq_limit",
        "freq_text",
        "freq_where",
        "largest_amount",
        "listed",
        "max_amount",
        "max_days",
        "max_percent",
        "ok",
        "over_amount",
        "over_days",
        "over_percent",
        "percent_needs_value",
        "plan_debt",
        "plan_over",
        "plan_refused",
        "present",
        "rank",
    )

    def __init__(self, catalog: Catalog, rule: RemedyRule, tier: Tier) -> None:
        cap = rule.caps.get(tier)
        base = f"{rule.id}.caps.{tier}"
        self.rank = RANK[tier]
        self.listed = tier in rule.caps  # required_tier keeps the last listed tier's refusal
        self.present = cap is not None
        self.absent = CapCheck(False, base, f"{tier} cannot grant {rule.remedy} in {rule.situation}")
        self.ok = CapCheck(True, base, f"within {tier} authority")
        # limits._plan_limit: a plan remedy's balance limit lives under payment_plans.
        self.plan_refused: CapCheck | None = None
        self.plan_debt: Decimal | None = None
        self.plan_over: CapCheck | None = None
        plans = catalog.plans
        if catalog.remedies[rule.remedy].kind == "plan" and plans is not None:
            if tier not in plans.max_weeks:
                self.plan_refused = CapCheck(
                    False, f"payment_plans.max_weeks.{tier}", f"{tier} cannot set up payment plans"
                )
            else:
                self.plan_debt = plans.max_debt.get(tier)
                if self.plan_debt is not None:
                    self.plan_over = CapCheck(
                        False,
                        f"payment_plans.max_debt.{tier}",
                        f"{tier} may set up plans for balances up to {fmt(self.plan_debt)}",
                    )
        self.max_amount = cap.max_amount if cap is not None else None
        self.max_days = cap.max_days if cap is not None else None
        self.max_percent = cap.max_percent if cap is not None else None
        self.largest_amount = cents(self.max_amount) if self.max_amount is not None else None
        self.over_amount = (
            CapCheck(False, f"{base}.max_amount", f"{tier} may give up to {fmt(self.max_amount)}")
            if self.max_amount is not None
            else None
        )
        self.over_days = CapCheck(False, f"{base}.max_days", f"{tier} may give up to {self.max_days} days")
        self.percent_needs_value = CapCheck(
            False, f"{base}.max_percent", "order_value is needed to apply a percent cap"
        )
        self.over_percent = (
            CapCheck(
                False,
                f"{base}.max_percent",
                f"{tier} may give up to {self.max_percent.normalize():f}% of the order value",
            )
            if self.max_percent is not None
            else None
        )
        # limits.frequency_check: the exceptions this tier may still grant one customer.
        self.freq_limit: int | None = None
        self.freq_where = ""
        self.freq_text = ""
        if cap is not None and rule.counts_as_exception:
            if cap.max_recent_exceptions is not None:
                self.freq_limit = cap.max_recent_exceptions
                self.freq_where = f"{rule.id}.caps.{tier}.max_recent_exceptions"
            else:
                self.freq_limit = catalog.tier_max_recent_exceptions.get(tier)
                self.freq_where = f"tiers.{tier}.max_recent_exceptions"
            self.freq_text = (
                f"{tier} may grant at most {self.freq_limit} exceptions per customer in "
                f"{catalog.exception_period_days} days; this customer has had "
            )

    def frequency(self, recent: int) -> CapCheck | None:
        """`limits.frequency_check` at this tier (the cap is present), for a customer who has had
        `recent` exceptions in the period."""
        limit = self.freq_limit
        if limit is not None and recent >= limit:
            return CapCheck(False, self.freq_where, f"{self.freq_text}{recent}")
        return None

    def check(self, size: Size | None, facts: Mapping[str, object], recent: int) -> CapCheck:
        """`limits.check_cap` at this tier. (`size` is a Decimal or an int: compared as it is, exactly
        as `Decimal(size)` compares.)"""
        if not self.present:
            return self.absent
        if size is not None:
            if self.plan_refused is not None:
                return self.plan_refused
            if self.plan_debt is not None and size > self.plan_debt:
                return self.plan_over  # type: ignore[return-value]
            if self.max_amount is not None and size > self.max_amount:
                return self.over_amount  # type: ignore[return-value]
            if self.max_days is not None and int(size) > self.max_days:
                return self.over_days
            if self.max_percent is not None:
                order_value = facts.get("order_value")
                if order_value is None:
                    return self.percent_needs_value
                if size > (as_number(order_value) * self.max_percent / 100).quantize(CENT, rounding=ROUND_HALF_UP):
                    return self.over_percent  # type: ignore[return-value]
        limit = self.freq_limit
        if limit is not None and recent >= limit:
            return CapCheck(False, self.freq_where, f"{self.freq_text}{recent}")
        return self.ok


class CompiledRule:
    """One remedy rule: its conditions, its size formula, its caps by tier rank."""

    __slots__ = (
        "adjustable",
        "constant_cost",
        "constant_size",
        "cost_factor",
        "fixed_options",
        "id",
        "kind",
        "listed_tiers",
        "no_tier",
        "per",
        "percent",
        "remedy",
        "rule",
        "single_fact",
        "size_fact",
        "size_facts",
        "sizeless",
        "sizeless_cost",
        "stop_at",
        "stop_tier",
        "tiers",
        "unbounded_history",
        "when",
        "words",
    )

    def __init__(self, catalog: Catalog, rule: RemedyRule) -> None:
        remedy = catalog.remedies[rule.remedy]
        spec = rule.amount
        self.rule = rule
        self.id = rule.id
        self.remedy = rule.remedy
        self.words = rule.remedy.replace("_", " ")
        self.kind = remedy.kind
        self.adjustable = rule.adjustable
        self.cost_factor = remedy.cost_factor
        self.sizeless_cost = cents(remedy.cost_factor)
        self.when = CompiledConditions(rule.when) if rule.when else None
        self.tiers = tuple(TierCap(catalog, rule, t) for t in TIERS)
        self.listed_tiers = tuple(t for t in self.tiers if t.listed)
        self.no_tier = CapCheck(False, f"{rule.id}.caps", f"no tier may grant {rule.remedy} here")
        self.unbounded_history = Limit(True, f"remedies.{rule.remedy}", "no history to apply")
        # limits.natural_size
        self.sizeless = self.kind in SIZELESS_KINDS or spec.sizeless
        self.size_facts = tuple(n for n in (spec.fact, spec.of, spec.per) if n is not None)
        self.size_fact = spec.fact if spec.fact is not None else spec.of
        self.percent = spec.percent
        self.per = spec.per
        self.single_fact = self.size_fact if len(self.size_facts) == 1 and spec.fixed is None else None
        self.constant_size: Size | None = None
        if not self.sizeless and spec.fixed is not None and not self.size_facts:
            self.constant_size = self._sized(spec.fixed)
        self.constant_cost: Decimal | None = None
        self.constant_cost = self.cost(self.constant_size) if self.constant_size is not None else None
        # A rule whose size does not depend on the case (a fixed amount, or no size at all) offers the same
        # option at each tier, whatever the case: options.py builds each once, on first use, and keeps it here.
        self.fixed_options: list[object] | None = (
            [None] * len(TIERS) if self.sizeless or self.constant_size is not None else None
        )
        # options._stopped_whatever_the_size: every tier that may grant the rule is past its limit of
        # exceptions once the customer has had `stop_at` (the largest of those limits).
        present = [t for t in self.tiers if t.present]
        limits = [t.freq_limit for t in present]
        self.stop_at: int | None = None
        self.stop_tier: TierCap | None = None
        if rule.counts_as_exception and present and all(v is not None for v in limits):
            self.stop_at = max(v for v in limits if v is not None)
            self.stop_tier = present[-1]

    def _sized(self, value: Decimal) -> Size:
        if self.kind == "days":
            return int(value.to_integral_value(rounding=ROUND_FLOOR))
        return value.quantize(CENT, rounding=ROUND_HALF_UP)  # money.cents

    def natural_size(self, facts: Mapping[str, object]) -> Size | Missing | None:
        """`limits.natural_size`."""
        if self.sizeless:
            return None
        if self.constant_size is not None:  # no fact to read (a fixed amount)
            return self.constant_size
        name = self.single_fact
        if name is not None:  # {fact: x} or {percent: p, of: x}
            raw = facts.get(name)
            if raw is None:
                return Missing(frozenset((name,)))
            value = as_number(raw)
            if self.percent is not None:
                value = value * self.percent / 100
            return self._sized(value)
        needed = [n for n in self.size_facts if facts.get(n) is None]
        if needed:
            return Missing(frozenset(needed))
        spec = self.rule.amount
        if spec.fixed is not None:
            value = spec.fixed
        else:
            value = as_number(facts[self.size_fact])  # type: ignore[index]
            if self.percent is not None:
                value = value * self.percent / 100
        if self.per is not None:
            value = value * as_number(facts[self.per])
        return self._sized(value)

    def required(self, size: Size | None, facts: Mapping[str, object], recent: int) -> tuple[int | None, CapCheck]:
        """`limits.required_tier`, with the tier as its rank. (A tier not listed in the caps cannot
        grant and is not the refusal kept, so only the listed ones are tried.)"""
        last = self.no_tier
        for cap in self.listed_tiers:
            verdict = cap.check(size, facts, recent)
            if verdict.ok:
                return cap.rank, verdict
            last = verdict
        return None, last

    def largest(self, rank: int, facts: Mapping[str, object], recent: int) -> Size | None:
        """`limits.largest_at` for the remedy's own kind."""
        cap = self.tiers[rank]
        if not cap.present or (cap.freq_limit is not None and recent >= cap.freq_limit):
            return None
        if self.kind == "days":
            return cap.max_days
        bounds = [cap.largest_amount] if cap.largest_amount is not None else []
        if cap.max_percent is not None:
            order_value = facts.get("order_value")
            if order_value is None:
                return None
            bounds.append(cents(as_number(order_value) * cap.max_percent / 100))
        return min(bounds) if bounds else None

    def stopped(self, recent: int) -> CapCheck | None:
        """The refusal of the last tier that may grant the rule, when no tier may grant it any more."""
        if self.stop_at is None or recent < self.stop_at:
            return None
        return self.stop_tier.frequency(recent)  # type: ignore[union-attr]

    def cost(self, size: Size | None) -> Decimal:
        """`limits.cost_of`."""
        if size is None:
            return self.sizeless_cost
        if size is self.constant_size and self.constant_cost is not None:
            return self.constant_cost
        return (size * self.cost_factor).quantize(CENT, rounding=ROUND_HALF_UP)  # cents(Decimal(size) * factor)


class CompiledSituation:
    __slots__ = (
        "ask_what_is_fair",
        "eligible",
        "eligible_rule",
        "handoff_base",
        "handoff_reason",
        "handoff_targets",
        "id",
        "needs",
        "ordinary",
        "rules",
        "rules_by_remedy",
        "situation",
    )

    def __init__(self, catalog: Catalog, situation: Situation) -> None:
        self.situation = situation
        self.id = situation.id
        self.needs = situation.needs
        self.eligible = CompiledConditions(situation.eligible)
        self.eligible_rule = f"{situation.id}.eligible"
        self.ordinary = CompiledConditions(situation.ordinary)
        self.rules = tuple(CompiledRule(catalog, r) for r in situation.remedies)
        by_remedy: dict[str, list[CompiledRule]] = {}
        for rule in self.rules:
            by_remedy.setdefault(rule.remedy, []).append(rule)
        self.rules_by_remedy = {k: tuple(v) for k, v in by_remedy.items()}
        self.ask_what_is_fair = situation.fair_ask and any(r.adjustable for r in situation.remedies)
        self.handoff_reason = situation.handoff_reason
        # options._handoff with nothing within reach: max(the situation's handoff tier, the tier above).
        base = RANK[catalog.handoff_for(situation.id)]
        self.handoff_base = base
        self.handoff_targets = tuple(max(base, min(rank + 1, len(TIERS) - 1)) for rank in range(len(TIERS)))


class CompiledCatalog:
    __slots__ = ("__weakref__", "situations")

    def __init__(self, catalog: Catalog) -> None:
        self.situations = {sid: CompiledSituation(catalog, s) for sid, s in catalog.situations.items()}


_CACHE: dict[int, tuple[weakref.ref[Catalog], CompiledCatalog]] = {}


def compiled(catalog: Catalog) -> CompiledCatalog:
    """The tables of `catalog`, built on its first evaluation and kept while it lives."""
    key = id(catalog)
    entry = _CACHE.get(key)
    if entry is not None and entry[0]() is catalog:
        return entry[1]
    tables = CompiledCatalog(catalog)
    try:
        ref = weakref.ref(catalog, _forgetter(key))
    except TypeError:  # a catalog class without weak references: compiled per call, still correct
        return tables
    _CACHE[key] = (ref, tables)
    return tables


def _forgetter(key: int) -> Callable[[weakref.ref[Catalog]], None]:
    def forget(ref: weakref.ref[Catalog]) -> None:
        entry = _CACHE.get(key)
        if entry is not None and entry[0] is ref:
            del _CACHE[key]

    return forget
