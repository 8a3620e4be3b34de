"""options(case, tier): what this actor may offer, best first, and what would need more authority.

Ranking is the catalog's order: the business lists each situation's remedies in the
order it prefers to offer them, so the ranking is business-owned data, not code.

`options` evaluates the catalog's compiled tables (policy/compiled.py); `reference_options` is the
same decision written plainly over the catalog, rule by rule (`evaluate_rule`, limits.py). The two
give equal answers (tests/unit/test_policy_compiled.py); change them together.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from makegood.policy.case import Case
from makegood.policy.compiled import (
    ARTICLE,
    RANK,
    TIERS,
    CompiledRule,
    CompiledSituation,
    compiled,
    fast_constructor,
    recent_exceptions,
)
from makegood.policy.conditions import Missing, first_failure
from makegood.policy.cumulative import ORDER_TOTAL_RULE, History, limit_for
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


_Option = fast_constructor(Option)
_OptionSet = fast_constructor(OptionSet)


def options(catalog: Catalog, case: Case, tier: Tier) -> OptionSet:
    """What `tier` may offer for `case`, best first; what needs a higher tier; what is blocked and why."""
    facts, history, version = case.facts, case.history, catalog.version
    tables = compiled(catalog).situations.get(case.situation)
    recent = recent_exceptions(facts)
    if tables is None or recent is None or type(tier) is not Tier:
        # An unknown situation, a tier that is not a Tier, a count of exceptions that is not an int
        # (a Case not made by Case.build): the reference path answers, or says what is wrong.
        return reference_options(catalog, case, tier)
    rank = RANK[tier]
    missing = {f for f in tables.needs if facts.get(f) is None}
    offers: list[Option] = []
    beyond: list[Option] = []
    blocked: list[Blocked] = []
    outcome, failed = tables.eligible.first_failure(facts)
    if isinstance(outcome, Missing):
        missing |= outcome.facts
    elif outcome is False and failed is not None:
        blocked = [Blocked("*", tables.eligible_rule, failed)]
        missing = set()
    if not blocked and not missing:
        for rule in tables.rules:
            _evaluate(catalog, rule, facts, history, recent, rank, version, offers, beyond, blocked, missing)
    handoff = None if offers else _compiled_handoff(tables, rank, beyond, blocked, missing)
    cited = tuple(dict.fromkeys([o.cap_rule for o in offers + beyond] + [b.rule for b in blocked]))
    return _OptionSet(
        situation=tables.id,
        tier=tier,
        policy_version=version,
        offers=tuple(offers),
        beyond=tuple(beyond),
        blocked=tuple(blocked),
        missing_facts=tuple(sorted(missing)),
        handoff=handoff,
        ask_what_is_fair=tables.ask_what_is_fair,
        rules_cited=cited,
        ordinary=tables.ordinary.first_true(facts),
    )


def _evaluate(
    catalog: Catalog,
    rule: CompiledRule,
    facts: Mapping[str, object],
    history: History | None,
    recent: int,
    rank: int,
    version: str,
    offers: list[Option],
    beyond: list[Option],
    blocked: list[Blocked],
    missing: set[str],
) -> None:
    """`evaluate_rule` over the compiled tables, adding to the four lists instead of returning them."""
    if rule.when:
        outcome, failed = rule.when.first_failure(facts)
        if outcome is False and failed is not None:
            blocked.append(Blocked(rule.remedy, rule.id, failed))
            return
    else:
        outcome = True
    limit = rule.unbounded_history if history is None else limit_for(catalog, rule.remedy, facts, history)
    if not limit.ok:
        blocked.append(Blocked(rule.remedy, limit.rule, limit.reason))
        return
    if rule.stop_at is not None:
        stopped = rule.stopped(recent)
        if stopped is not None:
            blocked.append(Blocked(rule.remedy, stopped.cap_rule, stopped.reason))
            return
    if outcome is not True:  # Missing
        missing |= outcome.facts  # type: ignore[union-attr]
        return
    size = rule.natural_size(facts)
    if isinstance(size, Missing):
        missing |= size.facts
        return
    if size is None:
        needed, verdict = rule.required(None, facts, recent)
        if needed is None:
            blocked.append(Blocked(rule.remedy, verdict.cap_rule, verdict.reason))
        else:
            (offers if needed <= rank else beyond).append(_option(rule, None, needed, verdict.cap_rule, version))
        return
    room = limit.room if rule.kind == "money" else None
    if room is not None and Decimal(size) > room:
        if not rule.adjustable:
            blocked.append(
                Blocked(
                    rule.remedy,
                    ORDER_TOTAL_RULE,
                    f"{rule.words} of {size} would exceed what the order may still give back ({room})",
                )
            )
            return
        most = min(room, rule.largest(rank, facts, recent) or room)
        reduced_tier, reduced_verdict = rule.required(most, facts, recent)
        if reduced_tier is None or reduced_tier > rank or most <= 0:
            blocked.append(Blocked(rule.remedy, ORDER_TOTAL_RULE, limit.reason))
        else:
            offers.append(_option(rule, most, reduced_tier, reduced_verdict.cap_rule, version, size))
        return
    needed, verdict = rule.required(size, facts, recent)
    if needed is not None and needed <= rank:
        offers.append(_option(rule, size, needed, verdict.cap_rule, version))
        return
    if rule.adjustable:
        largest = rule.largest(rank, facts, recent)
        if largest is not None and largest > 0:
            reduced_tier, reduced_verdict = rule.required(largest, facts, recent)
            if reduced_tier is not None and reduced_tier <= rank:
                offers.append(_option(rule, largest, reduced_tier, reduced_verdict.cap_rule, version, size))
    if needed is None:
        blocked.append(Blocked(rule.remedy, verdict.cap_rule, verdict.reason))
    else:
        beyond.append(_option(rule, size, needed, verdict.cap_rule, version))


def _option(
    rule: CompiledRule, size: Size | None, needed: int, cap_rule: str, version: str, reduced: Size | None = None
) -> Option:
    fixed = rule.fixed_options
    if fixed is not None and reduced is None:  # the rule's one size (or none) at the lowest tier that may give it
        option = fixed[needed]
        if option is None:
            option = fixed[needed] = _new_option(rule, size, needed, cap_rule, version, None)
        return option  # type: ignore[return-value]
    return _new_option(rule, size, needed, cap_rule, version, reduced)


def _new_option(
    rule: CompiledRule, size: Size | None, needed: int, cap_rule: str, version: str, reduced: Size | None
) -> Option:
    return _Option(
        remedy=rule.remedy,
        kind=rule.kind,
        size=size,
        cost=rule.cost(size),
        required_tier=TIERS[needed],
        rule=rule.id,
        cap_rule=cap_rule,
        policy_version=version,
        reduced_from=reduced,
    )


def _compiled_handoff(
    tables: CompiledSituation, rank: int, beyond: list[Option], blocked: list[Blocked], missing: set[str]
) -> Handoff:
    """`_handoff` over the compiled tables."""
    if beyond:
        target = min(RANK[o.required_tier] for o in beyond)
        return Handoff(TIERS[target], f"{ARTICLE[target]} can approve {beyond[0].remedy.replace('_', ' ')}")
    target = tables.handoff_targets[rank]
    who = ARTICLE[target]
    if missing:
        return Handoff(
            TIERS[target], f"if {', '.join(sorted(missing))} cannot be confirmed, {who} will review the case"
        )
    if tables.handoff_reason:
        return Handoff(TIERS[target], tables.handoff_reason)
    reason = blocked[0].reason if blocked else "no remedy in the catalog fits this case"
    return Handoff(TIERS[target], f"outside standard policy ({reason}); {who} will review it as an exception")


def reference_options(catalog: Catalog, case: Case, tier: Tier) -> OptionSet:
    """`options`, evaluated rule by rule over the catalog itself: the plain statement of the decision."""
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


__all__ = ["Blocked", "Handoff", "Option", "OptionSet", "check_cap", "evaluate_rule", "options", "reference_options"]
