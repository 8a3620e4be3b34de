"""options(case, tier): what this actor may offer, best first, and what would need more authority.

Ranking is the catalog's order: the business lists each situation's remedies in the
order it prefers to offer them, so the ranking is business-owned data, not code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from makegood.policy.case import Case
from makegood.policy.conditions import Missing, first_failure
from makegood.policy.cumulative import ORDER_TOTAL_RULE, limit_for
from makegood.policy.limits import (
    Size,
    check_cap,
    cost_of,
    frequency_check,
    largest_at,
    natural_size,
    required_tier,
)
from makegood.policy.model import Catalog, RemedyRule
from makegood.policy.tiers import Tier


@dataclass(frozen=True)
class Option:
    remedy: str
    kind: str  # money | days | plan | item | none
    size: Size | None  # Decimal money, or whole days; None for a remedy with no size (item, none)
    cost: Decimal
    required_tier: Tier
    rule: str  # the remedy rule that allows it, e.g. "damaged_item.partial_refund"
    cap_rule: str  # the cap that admits it at required_tier
    policy_version: str
    reduced_from: Size | None = None  # the remedy's own size, when offered at the actor's cap

    @property
    def phrasing(self) -> str:
        """Response key the bot and copilot use to say this option."""
        return f"utter_offer_{self.remedy}"

    def as_json(self) -> dict[str, object]:
        return {
            "remedy": self.remedy,
            "kind": self.kind,
            "size": None if self.size is None else str(self.size),
            "cost": str(self.cost),
            "required_tier": self.required_tier.value,
            "rule": self.rule,
            "cap_rule": self.cap_rule,
            "policy_version": self.policy_version,
            "phrasing": self.phrasing,
            "reduced_from": None if self.reduced_from is None else str(self.reduced_from),
        }


@dataclass(frozen=True)
class Blocked:
    remedy: str
    rule: str
    reason: str


@dataclass(frozen=True)
class Handoff:
    """Where a case goes when the actor cannot settle it alone. Never a bare no."""

    tier: Tier
    reason: str


@dataclass(frozen=True)
class OptionSet:
    situation: str
    tier: Tier
    policy_version: str
    offers: tuple[Option, ...]
    beyond: tuple[Option, ...]  # allowed by policy, but only at a higher tier
    blocked: tuple[Blocked, ...]  # outside policy for this case
    missing_facts: tuple[str, ...]
    handoff: Handoff | None
    ask_what_is_fair: bool = False
    rules_cited: tuple[str, ...] = field(default=())
    ordinary: str | None = None  # the reason nothing is wrong (`ordinary_when`), when one holds

    @property
    def next_step(self) -> str:
        if self.offers:
            return "offer"
        if self.missing_facts:
            return "ask_facts"
        return "handoff"


def evaluate_rule(
    catalog: Catalog, rule: RemedyRule, case: Case, tier: Tier
) -> tuple[list[Option], list[Option], list[Blocked], set[str]]:
    """One rule at one tier -> (offers, beyond, blocked, missing facts).

    Three-valued: a rule whose known conditions already fail, or that a limit already stops
    whatever its size, is simply not applicable: its missing facts are not asked for."""
    kind = catalog.remedies[rule.remedy].kind
    outcome, failed = first_failure(rule.when, case.facts)
    if outcome is False and failed is not None:
        return [], [], [Blocked(rule.remedy, rule.id, failed.describe())], set()
    limit = limit_for(catalog, rule.remedy, case.facts, case.history)
    if not limit.ok:
        return [], [], [Blocked(rule.remedy, limit.rule, limit.reason)], set()
    stopped = _stopped_whatever_the_size(catalog, rule, case)
    if stopped is not None:
        return [], [], [stopped], set()
    if isinstance(outcome, Missing):
        return [], [], [], set(outcome.facts)
    size = natural_size(rule, case.facts, kind)
    if isinstance(size, Missing):
        return [], [], [], set(size.facts)

    def make(s: Size | None, t: Tier, cap_rule: str, reduced: Size | None = None) -> Option:
        return Option(
            remedy=rule.remedy,
            kind=kind,
            size=s,
            cost=cost_of(catalog, rule, s),
            required_tier=t,
            rule=rule.id,
            cap_rule=cap_rule,
            policy_version=catalog.version,
            reduced_from=reduced,
        )

    if size is None:  # a remedy with no size: only who may grant it, and how often
        needed, verdict = required_tier(catalog, rule, None, case.facts)
        if needed is None:
            return [], [], [Blocked(rule.remedy, verdict.cap_rule, verdict.reason)], set()
        if needed <= tier:
            return [make(None, needed, verdict.cap_rule)], [], [], set()
        return [], [make(None, needed, verdict.cap_rule)], [], set()
    room = limit.room if kind == "money" else None
    if room is not None and Decimal(size) > room:
        if not rule.adjustable:
            return (
                [],
                [],
                [
                    Blocked(
                        rule.remedy,
                        ORDER_TOTAL_RULE,
                        f"{rule.remedy.replace('_', ' ')} of "
                        f"{size} would exceed what the order may still give back ({room})",
                    )
                ],
                set(),
            )
        most = min(room, largest_at(catalog, rule, tier, case.facts, kind) or room)
        reduced_tier, reduced_verdict = required_tier(catalog, rule, most, case.facts)
        if reduced_tier is None or reduced_tier > tier or most <= 0:
            return [], [], [Blocked(rule.remedy, ORDER_TOTAL_RULE, limit.reason)], set()
        return [make(most, reduced_tier, reduced_verdict.cap_rule, reduced=size)], [], [], set()
    needed, verdict = required_tier(catalog, rule, size, case.facts)
    if needed is not None and needed <= tier:
        return [make(size, needed, verdict.cap_rule)], [], [], set()
    offers: list[Option] = []
    if rule.adjustable:
        largest = largest_at(catalog, rule, tier, case.facts, kind)
        if largest is not None and largest > 0:
            reduced_tier, reduced_verdict = required_tier(catalog, rule, largest, case.facts)
            if reduced_tier is not None and reduced_tier <= tier:
                offers.append(make(largest, reduced_tier, reduced_verdict.cap_rule, reduced=size))
    if needed is None:
        return offers, [], [Blocked(rule.remedy, verdict.cap_rule, verdict.reason)], set()
    return offers, [make(size, needed, verdict.cap_rule)], [], set()


def _stopped_whatever_the_size(catalog: Catalog, rule: RemedyRule, case: Case) -> Blocked | None:
    """A rule no tier may grant this customer at any size (every listed tier is past its limit of
    exceptions): not applicable, so the facts its size needs would change nothing."""
    checks = []
    for tier in Tier.ordered():
        cap = rule.caps.get(tier)
        if cap is None:
            continue
        stop = frequency_check(catalog, rule, tier, cap, case.facts)
        if stop is None:
            return None
        checks.append(stop)
    if not checks:
        return None
    top = checks[-1]
    return Blocked(rule.remedy, top.cap_rule, top.reason)


def options(catalog: Catalog, case: Case, tier: Tier) -> OptionSet:
    situation = catalog.situation(case.situation)
    missing = {f for f in situation.needs if case.facts.get(f) is None}
    offers: list[Option] = []
    beyond: list[Option] = []
    blocked: list[Blocked] = []
    outcome, failed = first_failure(situation.eligible, case.facts)
    if isinstance(outcome, Missing):
        missing |= outcome.facts
    elif outcome is False and failed is not None:  # first_failure names the condition that said no
        blocked = [Blocked("*", f"{situation.id}.eligible", failed.describe())]
        missing = set()  # ineligible whatever the other facts say: asking for them would only delay the handoff
    if not blocked and not missing:
        for rule in situation.remedies:
            o, b, x, m = evaluate_rule(catalog, rule, case, tier)
            offers += o
            beyond += b
            blocked += x
            missing |= m
    handoff = None if offers else _handoff(catalog, situation.id, tier, beyond, blocked, missing)
    cited = tuple(dict.fromkeys([o.cap_rule for o in offers + beyond] + [b.rule for b in blocked]))
    return OptionSet(
        situation=situation.id,
        tier=tier,
        policy_version=catalog.version,
        offers=tuple(offers),
        beyond=tuple(beyond),
        blocked=tuple(blocked),
        missing_facts=tuple(sorted(missing)),
        handoff=handoff,
        ask_what_is_fair=situation.fair_ask and any(r.adjustable for r in situation.remedies),
        rules_cited=cited,
        ordinary=next((c.describe() for c in situation.ordinary if c.evaluate(case.facts) is True), None),
    )


def _handoff(
    catalog: Catalog, situation_id: str, tier: Tier, beyond: list[Option], blocked: list[Blocked], missing: set[str]
) -> Handoff:
    if beyond:
        target = min(o.required_tier for o in beyond)
        return Handoff(target, f"{target.a} can approve {beyond[0].remedy.replace('_', ' ')}")
    target = max(catalog.handoff_for(situation_id), _next_tier(tier))
    own = catalog.situation(situation_id).handoff_reason
    if missing:
        return Handoff(target, f"if {', '.join(sorted(missing))} cannot be confirmed, {target.a} will review the case")
    if own:
        return Handoff(target, own)
    reason = blocked[0].reason if blocked else "no remedy in the catalog fits this case"
    return Handoff(target, f"outside standard policy ({reason}); {target.a} will review it as an exception")


def _next_tier(tier: Tier) -> Tier:
    order = Tier.ordered()
    return order[min(order.index(tier) + 1, len(order) - 1)]


__all__ = ["Blocked", "Handoff", "Option", "OptionSet", "check_cap", "evaluate_rule", "options"]
