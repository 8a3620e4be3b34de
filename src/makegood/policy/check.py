"""check(case, remedy, size, tier): may this actor give this exact thing? If not, who may, and
what can be offered instead. Every verdict that is not "allowed" carries alternatives or a handoff.

`check` evaluates the catalog's compiled tables (policy/compiled.py); `reference_check` is the same
decision written plainly over the catalog (limits.py, cumulative.py). The two give equal answers
(tests/unit/test_policy_compiled.py); change them together."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from makegood.errors import CaseError
from makegood.money import fmt, to_money
from makegood.policy.case import MAX_DAYS, Case, coerce_whole
from makegood.policy.compiled import (
    ARTICLE,
    RANK,
    TIERS,
    CompiledRule,
    compiled,
    fast_constructor,
    recent_exceptions,
)
from makegood.policy.conditions import Missing, first_failure
from makegood.policy.cumulative import History, grant_allowed, limit_for
from makegood.policy.limits import Size, check_cap, natural_size, required_tier
from makegood.policy.model import SIZELESS_KINDS, Catalog, FactSpec, RemedyRule
from makegood.policy.options import Handoff, Option, options, reference_options
from makegood.policy.tiers import Tier

ALLOWED, NEEDS_TIER, OUTSIDE_POLICY, NEEDS_FACTS = "allowed", "needs_tier", "outside_policy", "needs_facts"


@dataclass(frozen=True)
class Verdict:
    status: str  # allowed | needs_tier | outside_policy | needs_facts
    remedy: str
    size: Size | None
    required_tier: Tier | None
    rules: tuple[str, ...]
    reason: str
    policy_version: str
    alternatives: tuple[Option, ...] = ()  # in the actor's authority
    handoff: Handoff | None = None
    missing_facts: tuple[str, ...] = ()

    @property
    def allowed(self) -> bool:
        return self.status == ALLOWED


def parse_size(catalog: Catalog, remedy: str, value: object) -> Size | None:
    kind = catalog.remedies[remedy].kind
    if kind in SIZELESS_KINDS:
        if value is None or str(value).strip() == "":
            return None
        raise CaseError(f"{remedy} has no size (it is an {kind} remedy); give it without an amount, got {value!r}")
    if kind == "days":
        return coerce_whole(_DAYS, value)
    return to_money(value, "amount")


_DAYS = FactSpec(name="days", type="days", source="conversation")  # how a size in days is read


class _Refuse(Protocol):
    """`check`'s own constructor of a refusal: alternatives and a handoff always included."""

    def __call__(
        self,
        status: str,
        reason: str,
        rules: tuple[str, ...],
        needed: Tier | None = None,
        missing: tuple[str, ...] = (),
    ) -> Verdict: ...


_Verdict = fast_constructor(Verdict)


def check(catalog: Catalog, case: Case, remedy: str, size: object, tier: Tier) -> Verdict:
    """`size` may be None: the remedy's own size for this case (e.g. the order value for a full refund)."""
    facts, history, version = case.facts, case.history, catalog.version
    tables = compiled(catalog).situations.get(case.situation)
    recent = recent_exceptions(facts)
    if tables is None or recent is None or type(tier) is not Tier or remedy not in catalog.remedies:
        # What the compiled path does not read itself: the reference path answers, or says what is wrong.
        return reference_check(catalog, case, remedy, size, tier)
    situation = tables.situation
    kind = catalog.remedies[remedy].kind
    wanted: Size | None = None if size is None else parse_size(catalog, remedy, size)
    available = options(catalog, case, tier)
    rank = RANK[tier]

    def refuse(
        status: str, reason: str, rules: tuple[str, ...], needed: Tier | None = None, missing: tuple[str, ...] = ()
    ) -> Verdict:
        if needed is not None:
            handoff = Handoff(needed, f"{ARTICLE[RANK[needed]]} can approve this: {reason}")
        else:
            handoff = available.handoff or Handoff(
                TIERS[max(tables.handoff_base, rank)], situation.handoff_reason or reason
            )
        return _Verdict(
            status=status,
            remedy=remedy,
            size=wanted,
            required_tier=needed,
            rules=rules,
            reason=reason,
            policy_version=version,
            alternatives=available.offers,
            handoff=handoff,
            missing_facts=missing,
        )

    eligible, failed = tables.eligible.first_failure(facts)
    if eligible is False and failed is not None:
        return refuse(OUTSIDE_POLICY, failed, (tables.eligible_rule,))
    rules = tables.rules_by_remedy.get(remedy)
    if not rules:
        return refuse(OUTSIDE_POLICY, f"{remedy} is not a remedy for {situation.id}", (f"{situation.id}.remedies",))
    missing = {f for f in tables.needs if facts.get(f) is None}
    if isinstance(eligible, Missing):
        missing |= eligible.facts
    if missing:
        rule_id = tables.eligible_rule if isinstance(eligible, Missing) else f"{situation.id}.needs"
        return refuse(NEEDS_FACTS, "facts are missing", (rule_id,), missing=tuple(sorted(missing)))
    best: Verdict | None = None
    for rule in rules:
        verdict = _check_compiled(catalog, rule, facts, history, recent, kind, wanted, tier, rank, refuse)
        if verdict.allowed:
            return verdict
        if best is None or (best.status == OUTSIDE_POLICY and verdict.status != OUTSIDE_POLICY):
            best = verdict
    return best  # type: ignore[return-value]


def _check_compiled(
    catalog: Catalog,
    rule: CompiledRule,
    facts: Mapping[str, object],
    history: History | None,
    recent: int,
    kind: str,
    wanted: Size | None,
    tier: Tier,
    rank: int,
    refuse: _Refuse,
) -> Verdict:
    """`_check_rule` over the compiled tables."""
    if rule.when:
        outcome, failed = rule.when.first_failure(facts)
        if outcome is False and failed is not None:
            return refuse(OUTSIDE_POLICY, failed, (rule.id,))
    else:
        outcome = True
    natural = rule.natural_size(facts)
    if isinstance(outcome, Missing) or isinstance(natural, Missing):
        limit = rule.unbounded_history if history is None else limit_for(catalog, rule.remedy, facts, history)
        if not limit.ok:
            return refuse(OUTSIDE_POLICY, limit.reason, (rule.id, limit.rule))
        wanting = outcome.facts if isinstance(outcome, Missing) else frozenset()
        wanting |= natural.facts if isinstance(natural, Missing) else frozenset()
        return refuse(NEEDS_FACTS, "facts are missing", (rule.id,), missing=tuple(sorted(wanting)))
    size = natural if wanted is None else wanted
    if size is not None:  # a sizeless remedy (item, none) has no size to check
        if natural is None:  # cannot happen: a sized remedy always has a natural size
            return refuse(OUTSIDE_POLICY, f"{rule.remedy} has no size here", (rule.id,))
        if not rule.adjustable and wanted is not None and Decimal(wanted) != Decimal(natural):
            return refuse(
                OUTSIDE_POLICY,
                f"{rule.remedy} here is exactly {_say(natural, kind)} (the case's own size); it is not adjustable",
                (rule.id,),
            )
        if kind == "days" and int(size) > MAX_DAYS:
            return refuse(OUTSIDE_POLICY, "too many days", (rule.id,))
    needed, cap = rule.required(size, facts, recent)
    if needed is None:
        return refuse(OUTSIDE_POLICY, f"beyond every tier's authority ({cap.reason})", (rule.id, cap.cap_rule))
    if history is not None:
        limit = grant_allowed(catalog, rule.remedy, size, facts, history)
        if not limit.ok:
            return refuse(OUTSIDE_POLICY, limit.reason, (rule.id, limit.rule))
    if needed > rank:
        blocking = rule.tiers[rank].check(size, facts, recent)
        return refuse(
            NEEDS_TIER,
            f"needs {TIERS[needed]} authority; {tier} limit: {blocking.reason}",
            (rule.id, blocking.cap_rule, cap.cap_rule),
            needed=TIERS[needed],
        )
    return _allowed(rule, size, needed, cap.cap_rule, cap.reason, catalog.version)


def _allowed(rule: CompiledRule, size: Size | None, needed: int, cap_rule: str, reason: str, version: str) -> Verdict:
    return _Verdict(
        status=ALLOWED,
        remedy=rule.remedy,
        size=size,
        required_tier=TIERS[needed],
        rules=(rule.id, cap_rule),
        reason=reason,
        policy_version=version,
        alternatives=(),
        handoff=None,
        missing_facts=(),
    )


def reference_check(catalog: Catalog, case: Case, remedy: str, size: object, tier: Tier) -> Verdict:
    """`check`, evaluated over the catalog itself: the plain statement of the decision."""
    situation = catalog.situation(case.situation)
    if remedy not in catalog.remedies:
        raise CaseError(f"unknown remedy {remedy!r}; known remedies: {', '.join(sorted(catalog.remedies))}")
    kind = catalog.remedies[remedy].kind
    wanted: Size | None = None if size is None else parse_size(catalog, remedy, size)
    available = reference_options(catalog, case, tier)

    def refuse(
        status: str, reason: str, rules: tuple[str, ...], needed: Tier | None = None, missing: tuple[str, ...] = ()
    ) -> Verdict:
        handoff = available.handoff or Handoff(
            needed or max(catalog.handoff_for(situation.id), tier), situation.handoff_reason or reason
        )
        if needed is not None:
            handoff = Handoff(needed, f"{needed.a} can approve this: {reason}")
        return Verdict(
            status=status,
            remedy=remedy,
            size=wanted,
            required_tier=needed,
            rules=rules,
            reason=reason,
            policy_version=catalog.version,
            alternatives=available.offers,
            handoff=handoff,
            missing_facts=missing,
        )

    eligible, failed = first_failure(situation.eligible, case.facts)
    if eligible is False and failed is not None:
        return refuse(OUTSIDE_POLICY, failed.describe(), (f"{situation.id}.eligible",))
    rules = [r for r in situation.remedies if r.remedy == remedy]
    if not rules:  # a clear answer, whatever facts are missing
        return refuse(OUTSIDE_POLICY, f"{remedy} is not a remedy for {situation.id}", (f"{situation.id}.remedies",))
    # The situation's `needs` are facts without which no option can be judged: options() asks for
    # them before offering anything, so check() must not allow anything without them either.
    missing = {f for f in situation.needs if case.facts.get(f) is None}
    if isinstance(eligible, Missing):
        missing |= eligible.facts
    if missing:
        rule_id = f"{situation.id}.eligible" if isinstance(eligible, Missing) else f"{situation.id}.needs"
        return refuse(NEEDS_FACTS, "facts are missing", (rule_id,), missing=tuple(sorted(missing)))

    first, *others = rules
    best = _check_rule(catalog, first, case, kind, wanted, tier, refuse)
    if best.allowed:
        return best
    for rule in others:
        verdict = _check_rule(catalog, rule, case, kind, wanted, tier, refuse)
        if verdict.allowed:
            return verdict
        if best.status == OUTSIDE_POLICY and verdict.status != OUTSIDE_POLICY:
            best = verdict
    return best


def _check_rule(
    catalog: Catalog, rule: RemedyRule, case: Case, kind: str, wanted: Size | None, tier: Tier, refuse: _Refuse
) -> Verdict:
    outcome, failed = first_failure(rule.when, case.facts)
    if outcome is False and failed is not None:
        return refuse(OUTSIDE_POLICY, failed.describe(), (rule.id,))
    natural = natural_size(rule, case.facts, kind)
    if isinstance(outcome, Missing) or isinstance(natural, Missing):
        # Facts are asked for only if they could change the answer: not when a limit already says no.
        limit = limit_for(catalog, rule.remedy, case.facts, case.history)
        if not limit.ok:
            return refuse(OUTSIDE_POLICY, limit.reason, (rule.id, limit.rule))
        facts = outcome.facts if isinstance(outcome, Missing) else frozenset()
        facts |= natural.facts if isinstance(natural, Missing) else frozenset()
        return refuse(NEEDS_FACTS, "facts are missing", (rule.id,), missing=tuple(sorted(facts)))
    size = natural if wanted is None else wanted
    if size is None:  # a remedy with no size: who may grant it, and how often
        needed, cap = required_tier(catalog, rule, None, case.facts)
        if needed is None:
            return refuse(OUTSIDE_POLICY, f"beyond every tier's authority ({cap.reason})", (rule.id, cap.cap_rule))
        limit = grant_allowed(catalog, rule.remedy, None, case.facts, case.history)
        if not limit.ok:
            return refuse(OUTSIDE_POLICY, limit.reason, (rule.id, limit.rule))
        if needed > tier:
            blocking = check_cap(catalog, rule, tier, None, case.facts)
            return refuse(
                NEEDS_TIER,
                f"needs {needed} authority; {tier} limit: {blocking.reason}",
                (rule.id, blocking.cap_rule, cap.cap_rule),
                needed=needed,
            )
        return Verdict(
            status=ALLOWED,
            remedy=rule.remedy,
            size=None,
            required_tier=needed,
            rules=(rule.id, cap.cap_rule),
            reason=cap.reason,
            policy_version=catalog.version,
        )
    if natural is None:  # cannot happen: a sized remedy always has a natural size
        return refuse(OUTSIDE_POLICY, f"{rule.remedy} has no size here", (rule.id,))
    if not rule.adjustable and wanted is not None and Decimal(wanted) != Decimal(natural):
        # Not adjustable: given whole or not at all. A smaller "full refund" is a partial refund under
        # another name, and would get round the partial refund's own (lower) caps.
        return refuse(
            OUTSIDE_POLICY,
            f"{rule.remedy} here is exactly {_say(natural, kind)} (the case's own size); it is not adjustable",
            (rule.id,),
        )
    if kind == "days" and int(size) > MAX_DAYS:
        return refuse(OUTSIDE_POLICY, "too many days", (rule.id,))
    needed, cap = required_tier(catalog, rule, size, case.facts)
    if needed is None:
        return refuse(OUTSIDE_POLICY, f"beyond every tier's authority ({cap.reason})", (rule.id, cap.cap_rule))
    limit = grant_allowed(catalog, rule.remedy, size, case.facts, case.history)
    if not limit.ok:  # over a cumulative limit: no tier may grant it, so it is not a matter of authority
        return refuse(OUTSIDE_POLICY, limit.reason, (rule.id, limit.rule))
    if needed > tier:
        blocking = check_cap(catalog, rule, tier, size, case.facts)  # the cap that stops this actor
        return refuse(
            NEEDS_TIER,
            f"needs {needed} authority; {tier} limit: {blocking.reason}",
            (rule.id, blocking.cap_rule, cap.cap_rule),
            needed=needed,
        )
    return Verdict(
        status=ALLOWED,
        remedy=rule.remedy,
        size=size,
        required_tier=needed,
        rules=(rule.id, cap.cap_rule),
        reason=cap.reason,
        policy_version=catalog.version,
    )


def _say(size: Size, kind: str) -> str:
    return f"{size} days" if kind == "days" else fmt(Decimal(size))
