"""Cap arithmetic: how big a remedy is, and which tier may grant a given size.

This is the one place where an amount meets a limit; options, check, fair-ask and the
story checker all ask here, so they can never disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import TypeAlias

from makegood.money import cents, fmt
from makegood.policy.case import whole
from makegood.policy.conditions import Missing
from makegood.policy.model import SIZELESS_KINDS, Cap, Catalog, RemedyRule
from makegood.policy.tiers import Tier

Size: TypeAlias = Decimal | int  # money for money/plan remedies, whole days for days remedies
# Remedies of kind item/none have no size: their size is None wherever a Size would be.


@dataclass(frozen=True)
class CapCheck:
    ok: bool
    cap_rule: str  # e.g. "damaged_item.partial_refund.caps.agent.max_amount"
    reason: str


def natural_size(rule: RemedyRule, facts: Mapping[str, object], kind: str) -> Size | Missing | None:
    """The remedy's own size from the case: the order value for a full refund, 30% of it, $15,
    $250 per passenger... None for a remedy with no size (kind item or none)."""
    spec = rule.amount
    if kind in SIZELESS_KINDS or spec.sizeless:
        return None
    needed = [n for n in (spec.fact, spec.of, spec.per) if n is not None and facts.get(n) is None]
    if needed:
        return Missing(frozenset(needed))
    if spec.fixed is not None:
        value: Decimal = spec.fixed
    else:
        name = spec.fact if spec.fact is not None else spec.of
        value = Decimal(str(facts[name]))  # type: ignore[index]
        if spec.percent is not None:
            value = value * spec.percent / 100
    if spec.per is not None:
        value = value * Decimal(str(facts[spec.per]))
    if kind == "days":
        return int(value.to_integral_value(rounding=ROUND_FLOOR))
    return cents(value)


def check_cap(
    catalog: Catalog, rule: RemedyRule, tier: Tier, size: Size | None, facts: Mapping[str, object]
) -> CapCheck:
    """Can `tier` grant `rule` at `size` for this customer? (`size` None: a remedy with no size.)"""
    base = f"{rule.id}.caps.{tier}"
    cap: Cap | None = rule.caps.get(tier)
    if cap is None:
        return CapCheck(False, base, f"{tier} cannot grant {rule.remedy} in {rule.situation}")
    if size is None:
        return frequency_check(catalog, rule, tier, cap, facts) or CapCheck(True, base, f"within {tier} authority")
    plan_limit = _plan_limit(catalog, rule, tier, size)
    if plan_limit is not None:
        return plan_limit
    if cap.max_amount is not None and Decimal(size) > cap.max_amount:
        return CapCheck(False, f"{base}.max_amount", f"{tier} may give up to {_money(cap.max_amount)}")
    if cap.max_days is not None and int(size) > cap.max_days:
        return CapCheck(False, f"{base}.max_days", f"{tier} may give up to {cap.max_days} days")
    if cap.max_percent is not None:
        order_value = facts.get("order_value")
        if order_value is None:
            return CapCheck(False, f"{base}.max_percent", "order_value is needed to apply a percent cap")
        if Decimal(size) > cents(Decimal(str(order_value)) * cap.max_percent / 100):
            return CapCheck(
                False,
                f"{base}.max_percent",
                f"{tier} may give up to {cap.max_percent.normalize():f}% of the order value",
            )
    frequency = frequency_check(catalog, rule, tier, cap, facts)
    if frequency is not None:
        return frequency
    return CapCheck(True, base, f"within {tier} authority")


def _plan_limit(catalog: Catalog, rule: RemedyRule, tier: Tier, size: Size) -> CapCheck | None:
    """A payment plan's own caps are empty in the rule; its limits live under `payment_plans`, and
    plan_for applies them. Apply the balance limit here too, so options never offers a plan for a
    debt this tier may not take on (plan_for would then refuse the very plan we offered)."""
    plans = catalog.plans
    if catalog.remedies[rule.remedy].kind != "plan" or plans is None:
        return None
    if tier not in plans.max_weeks:
        return CapCheck(False, f"payment_plans.max_weeks.{tier}", f"{tier} cannot set up payment plans")
    limit = plans.max_debt.get(tier)
    if limit is not None and Decimal(size) > limit:
        return CapCheck(
            False, f"payment_plans.max_debt.{tier}", f"{tier} may set up plans for balances up to {_money(limit)}"
        )
    return None


def frequency_check(
    catalog: Catalog, rule: RemedyRule, tier: Tier, cap: Cap, facts: Mapping[str, object]
) -> CapCheck | None:
    if not rule.counts_as_exception:
        return None
    limit: int | None
    if cap.max_recent_exceptions is not None:
        limit, where = cap.max_recent_exceptions, f"{rule.id}.caps.{tier}.max_recent_exceptions"
    else:
        limit, where = catalog.tier_max_recent_exceptions.get(tier), f"tiers.{tier}.max_recent_exceptions"
    if limit is None:
        return None
    recent = whole(facts.get("recent_exceptions") or 0)
    if recent >= limit:
        return CapCheck(
            False,
            where,
            f"{tier} may grant at most {limit} exceptions per customer in "
            f"{catalog.exception_period_days} days; this customer has had {recent}",
        )
    return None


def required_tier(
    catalog: Catalog, rule: RemedyRule, size: Size | None, facts: Mapping[str, object]
) -> tuple[Tier | None, CapCheck]:
    """The lowest tier that may grant `size`, or None with the cap that stops even the top tier."""
    last = CapCheck(False, f"{rule.id}.caps", f"no tier may grant {rule.remedy} here")
    for tier in Tier.ordered():
        verdict = check_cap(catalog, rule, tier, size, facts)
        if verdict.ok:
            return tier, verdict
        if tier in rule.caps:
            last = verdict
    return None, last


def largest_at(catalog: Catalog, rule: RemedyRule, tier: Tier, facts: Mapping[str, object], kind: str) -> Size | None:
    """The most `tier` may give under `rule` for this customer, or None if it may give nothing."""
    cap = rule.caps.get(tier)
    if cap is None or frequency_check(catalog, rule, tier, cap, facts) is not None:
        return None
    if kind == "days":
        return cap.max_days
    bounds = [cents(cap.max_amount)] if cap.max_amount is not None else []
    if cap.max_percent is not None:
        order_value = facts.get("order_value")
        if order_value is None:
            return None
        bounds.append(cents(Decimal(str(order_value)) * cap.max_percent / 100))
    # No bound at all: callers only ask when the natural size was already over this tier's
    # cap, which an unbounded cap cannot be, so "nothing to reduce to" is the honest answer.
    return min(bounds) if bounds else None


def cost_of(catalog: Catalog, rule: RemedyRule, size: Size | None) -> Decimal:
    """What granting `size` costs; a remedy with no size costs its `cost_factor`, once."""
    factor = catalog.remedies[rule.remedy].cost_factor
    return cents(factor if size is None else Decimal(size) * factor)


def _money(amount: Decimal) -> str:
    return fmt(amount)
