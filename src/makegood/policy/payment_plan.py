""" "How much can you afford each week?" — build a payment plan from the customer's own figure.

A plan fits a tier when the weekly amount is at least the catalog's minimum (a fixed floor
and a percent of the debt) and the term is within the tier's maximum weeks, for a debt the
tier may take on. When the customer's figure does not fit, the answer is the closest plans
that do, and which approval would make their own figure work.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

from makegood.errors import CaseError, PolicyError
from makegood.money import CENT, cents, to_money
from makegood.policy.model import Catalog, PlanPolicy
from makegood.policy.options import Handoff
from makegood.policy.tiers import Tier

ACCEPTED, COUNTER = "accepted", "counter"


@dataclass(frozen=True)
class Plan:
    debt: Decimal
    weekly: Decimal
    weeks: int
    final_payment: Decimal  # the last week pays what is left
    start_in_days: int = 0
    first_payment: Decimal | None = None  # a one-off payment now, before the weekly ones
    required_tier: Tier = Tier.SELF_SERVICE
    rule: str = ""
    label: str = ""  # what makes this plan different, for the customer

    @property
    def schedule(self) -> list[Decimal]:
        payments = [self.first_payment] if self.first_payment else []
        payments += [self.weekly] * (self.weeks - 1) + [self.final_payment]
        return payments

    def as_json(self) -> dict[str, object]:
        return {
            "debt": str(self.debt),
            "weekly": str(self.weekly),
            "weeks": self.weeks,
            "final_payment": str(self.final_payment),
            "start_in_days": self.start_in_days,
            "first_payment": None if self.first_payment is None else str(self.first_payment),
            "required_tier": self.required_tier.value,
            "rule": self.rule,
            "label": self.label,
        }


@dataclass(frozen=True)
class PlanResult:
    status: str  # accepted | counter
    asked_weekly: Decimal
    plan: Plan | None  # the customer's own figure, when it fits this tier
    alternatives: tuple[Plan, ...]  # compliant plans at this tier, closest first
    approval: Plan | None  # the customer's figure, at the lowest tier that could approve it
    handoff: Handoff | None
    reason: str
    policy_version: str


def minimum_weekly(policy: PlanPolicy, debt: Decimal) -> Decimal:
    floor = max(policy.min_weekly, cents(debt * policy.min_weekly_percent / 100))
    return min(floor, debt)


def build_plan(debt: Decimal, weekly: Decimal) -> tuple[int, Decimal]:
    weeks = int((debt / weekly).to_integral_value(rounding=ROUND_CEILING))
    final = debt - weekly * (weeks - 1)
    return weeks, final


def fits(policy: PlanPolicy, tier: Tier, debt: Decimal, weekly: Decimal) -> str | None:
    """None when the plan fits `tier`, else the rule that stops it."""
    if tier not in policy.max_weeks:
        return f"payment_plans.max_weeks.{tier}"
    if debt > policy.max_debt.get(tier, Decimal("Infinity")):
        return f"payment_plans.max_debt.{tier}"
    if weekly < minimum_weekly(policy, debt):
        return "payment_plans.min_weekly"
    weeks, _ = build_plan(debt, weekly)
    if weeks > policy.max_weeks[tier]:
        return f"payment_plans.max_weeks.{tier}"
    return None


def lowest_tier_for(policy: PlanPolicy, debt: Decimal, weekly: Decimal) -> Tier | None:
    return next((t for t in Tier.ordered() if fits(policy, t, debt, weekly) is None), None)


def plan_for(catalog: Catalog, debt: object, weekly: object, tier: Tier) -> PlanResult:
    policy = catalog.plans
    if policy is None:
        raise PolicyError(f"{catalog.source}: payment_plans: the catalog has no payment plan policy")
    debt_d = to_money(debt, "debt")
    weekly_d = to_money(weekly, "weekly amount")
    if debt_d <= 0:
        raise CaseError("debt must be more than zero for a payment plan")

    def make(w: Decimal, label: str, t: Tier, *, first_payment: Decimal | None = None, start_in_days: int = 0) -> Plan:
        owed = debt_d - (first_payment or 0)
        weeks, final = build_plan(owed, w)
        return Plan(
            debt=debt_d,
            weekly=w,
            weeks=weeks,
            final_payment=final,
            start_in_days=start_in_days,
            first_payment=first_payment,
            required_tier=t,
            rule=f"payment_plans.max_weeks.{t}",
            label=label,
        )

    stop = fits(policy, tier, debt_d, weekly_d) if weekly_d > 0 else "payment_plans.min_weekly"
    if stop is None:
        plan = make(weekly_d, "your own figure", tier)
        return PlanResult(ACCEPTED, weekly_d, plan, (), None, None, "fits this tier's plan limits", catalog.version)

    alternatives: list[Plan] = []
    max_weeks = policy.max_weeks.get(tier)
    if max_weeks is not None and debt_d <= policy.max_debt.get(tier, Decimal("Infinity")):  # this tier may plan
        floor = minimum_weekly(policy, debt_d)
        stretched = max(floor, (debt_d / max_weeks).quantize(CENT, rounding=ROUND_CEILING))
        alternatives.append(make(stretched, f"the longest plan allowed here ({max_weeks} weeks)", tier))
        if weekly_d >= floor and weekly_d > 0:
            # Their weekly figure works if a one-off payment now shortens the term enough.
            first = cents(debt_d - weekly_d * max_weeks)
            if 0 < first < debt_d:
                alternatives.append(
                    make(weekly_d, f"your weekly figure after a first payment of {first}", tier, first_payment=first)
                )
        deferral = policy.max_deferral_days.get(tier, 0)
        if deferral:
            alternatives.append(
                make(stretched, f"the same plan starting in {deferral} days", tier, start_in_days=deferral)
            )

    approver = lowest_tier_for(policy, debt_d, weekly_d) if weekly_d > 0 else None
    approval = make(weekly_d, f"your own figure, with {approver} approval", approver) if approver else None
    if approver is not None:
        handoff = Handoff(approver, f"{approver.a} can approve {weekly_d} a week")
    else:
        handoff = Handoff(
            max(catalog.handoff_tier, tier), "below every plan's minimum; a person will look at hardship options"
        )
    reason = {
        "payment_plans.min_weekly": f"the minimum weekly payment for this balance is {minimum_weekly(policy, debt_d)}"
    }.get(stop, f"outside {tier} plan limits ({stop})")
    return PlanResult(COUNTER, weekly_d, None, tuple(alternatives), approval, handoff, reason, catalog.version)
