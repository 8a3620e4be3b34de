""" "What do you think would be fair?" — judge the customer's own proposal.

Accept when the ask is inside the actor's authority. Otherwise counter by splitting the
difference between our opening offer and the ask, never above the actor's cap, and put the
other in-authority options beside it, so the customer is never left with a bare no.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from makegood.errors import CaseError
from makegood.money import cents, to_money
from makegood.policy.case import Case
from makegood.policy.check import NEEDS_TIER, Verdict, check
from makegood.policy.cumulative import order_room
from makegood.policy.limits import cost_of, largest_at, required_tier
from makegood.policy.model import Catalog
from makegood.policy.options import Handoff, Option, options
from makegood.policy.tiers import Tier

ACCEPT, COUNTER, HANDOFF = "accept", "counter", "handoff"


@dataclass(frozen=True)
class FairAskResult:
    verdict: str  # accept | counter | handoff
    remedy: str
    asked: Decimal
    accepted: Option | None
    counter: Option | None
    alternatives: tuple[Option, ...]  # in authority, other than the counter
    needs_tier: Tier | None  # who could grant the ask as asked, if anyone
    handoff: Handoff | None
    check: Verdict
    policy_version: str


def ask_remedy(catalog: Catalog, situation_id: str) -> str:
    """What a bare "I think $30 would be fair" means in this situation."""
    situation = catalog.situation(situation_id)
    if situation.fair_ask_remedy:
        return situation.fair_ask_remedy
    money_rules = [r for r in situation.remedies if catalog.remedies[r.remedy].kind == "money"]
    adjustable = [r for r in money_rules if r.adjustable]
    chosen = (adjustable or money_rules or list(situation.remedies))[0]
    return chosen.remedy


def judge_ask(
    catalog: Catalog,
    case: Case,
    tier: Tier,
    *,
    amount: object = None,
    percent: object = None,
    remedy: str | None = None,
) -> FairAskResult:
    remedy = remedy or ask_remedy(catalog, case.situation)
    asked = _asked_amount(case, amount, percent, _percent_base(catalog, case.situation, remedy))
    verdict = check(catalog, case, remedy, asked, tier)
    available = options(catalog, case, tier)
    if verdict.allowed:
        rule = next(r for r in catalog.situation(case.situation).remedies if r.id == verdict.rules[0])
        accepted = Option(
            remedy=remedy,
            kind=catalog.remedies[remedy].kind,
            size=asked,
            cost=cost_of(catalog, rule, asked),
            required_tier=verdict.required_tier or tier,
            rule=rule.id,
            cap_rule=verdict.rules[-1],
            policy_version=catalog.version,
        )
        return FairAskResult(
            ACCEPT, remedy, asked, accepted, None, (), verdict.required_tier, None, verdict, catalog.version
        )

    counter = _split_the_difference(catalog, case, tier, remedy, asked, available.offers)
    alternatives = tuple(o for o in available.offers if counter is None or o.rule != counter.rule)
    needs = verdict.required_tier if verdict.status == NEEDS_TIER else None
    handoff = verdict.handoff or available.handoff
    outcome = COUNTER if counter is not None or alternatives else HANDOFF
    if outcome == HANDOFF and handoff is None:
        handoff = Handoff(
            max(catalog.handoff_for(case.situation), tier), "nothing in authority fits; a person will review"
        )
    return FairAskResult(outcome, remedy, asked, None, counter, alternatives, needs, handoff, verdict, catalog.version)


def _percent_base(catalog: Catalog, situation_id: str, remedy: str) -> str:
    """What "half of it" is half of: the money fact the remedy is sized from (the fee in a fee
    dispute, the monthly fee in a late cancellation), else the order value."""
    for rule in catalog.situation(situation_id).remedies:
        if rule.remedy != remedy:
            continue
        name = rule.amount.of if rule.amount.percent is not None else rule.amount.fact
        if name is not None and catalog.facts[name].type == "money":
            return name
    return "order_value"


def _asked_amount(case: Case, amount: object, percent: object, base: str = "order_value") -> Decimal:
    if (amount is None) == (percent is None):
        raise CaseError("a fair ask needs exactly one of an amount or a percent")
    if amount is not None:
        return to_money(amount, "the customer's ask")
    share = to_money(percent, "the customer's percent")
    if share > 100:
        raise CaseError(f"a percent ask must be at most 100, got {percent!r}")
    value = case.facts.get(base)
    if value is None:
        raise CaseError(f"a percent ask needs the {base} fact")
    return cents(Decimal(str(value)) * share / 100)


def _split_the_difference(
    catalog: Catalog, case: Case, tier: Tier, remedy: str, asked: Decimal, offers: tuple[Option, ...]
) -> Option | None:
    opening = next((o for o in offers if o.remedy == remedy and o.kind == "money"), None)
    if opening is None or opening.size is None:  # (a money option always has a size)
        return None
    opening_size = Decimal(opening.size)
    rule = next(r for r in catalog.situation(case.situation).remedies if r.id == opening.rule)
    ceiling = largest_at(catalog, rule, tier, case.facts, "money") if rule.adjustable else opening_size
    if ceiling is None:
        ceiling = opening_size
    room = order_room(catalog, case.facts, case.history) if case.history is not None else None
    if room is not None:
        ceiling = min(Decimal(ceiling), room)
    midpoint = cents((opening_size + asked) / 2)
    size = max(opening_size, min(midpoint, Decimal(ceiling)))
    needed, cap = required_tier(catalog, rule, size, case.facts)
    if needed is None or needed > tier:  # cannot happen while ceiling is this tier's cap; guard anyway
        return opening
    return Option(
        remedy=remedy,
        kind="money",
        size=size,
        cost=cost_of(catalog, rule, size),
        required_tier=needed,
        rule=rule.id,
        cap_rule=cap.cap_rule,
        policy_version=catalog.version,
        reduced_from=asked,
    )
