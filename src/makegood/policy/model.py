"""The policy catalog as typed, immutable data. Built by `loader`; read by the engine."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from makegood.errors import CaseError
from makegood.policy.conditions import Condition, facts_named
from makegood.policy.derived import Derivation
from makegood.policy.tiers import Tier

FACT_TYPES = ("money", "days", "count", "bool", "enum", "month", "hour")
NUMERIC_FACT_TYPES = ("money", "days", "count", "month", "hour")
WHOLE_FACT_TYPES = ("days", "count", "month", "hour")  # whole numbers, each with its own bound
# money: an amount; days: a number of days; plan: a payment plan sized from a balance;
# item: something given that has no money size (a replacement, a promo code, a lounge pass);
# none: an action with no size at all (rebooking, an explanation, a callback).
REMEDY_KINDS = ("money", "days", "plan", "item", "none")
SIZELESS_KINDS = ("item", "none")
SITUATION_ID = r"^[a-z][a-z0-9_]{1,48}$"
# How a money answer is read: the one amount said, or the difference of two ("I paid 349 and
# now it's 299" is a price difference of 50).
MONEY_READINGS = ("amount", "difference")
# Names a derivation may read besides facts: the catalog's own constants.
CONSTANTS = ("return_window_days", "exception_period_days")


@dataclass(frozen=True)
class FactSpec:
    name: str
    type: str  # one of FACT_TYPES
    source: str  # "company" (customer store) or "conversation"
    description: str = ""
    values: tuple[str, ...] = ()  # enum only
    default: object = None  # used when the case does not say
    ask: str = ""  # conversation facts: the question the bot and the copilot ask for it
    read: str = "amount"  # money facts: one of MONEY_READINGS


@dataclass(frozen=True)
class PerCustomer:
    """At most `times` grants of one remedy to one customer within `days`."""

    times: int
    days: int


@dataclass(frozen=True)
class Remedy:
    name: str
    kind: str  # one of REMEDY_KINDS
    cost_factor: Decimal  # what one unit of `amount` costs the company
    description: str
    per_order: int | None = 1  # grants of this remedy on one order; None: no limit
    per_customer: PerCustomer | None = None
    counts_toward_order_total: bool = True  # money given back on one order never exceeds its cost


@dataclass(frozen=True)
class AmountSpec:
    """How big the remedy is, from the case's facts. At most one form is set; none for a
    remedy of kind item/none (it has no size)."""

    fact: str | None = None  # the fact's value
    fixed: Decimal | None = None
    percent: Decimal | None = None  # with `of`: percent of a fact
    of: str | None = None
    per: str | None = None  # a count fact the unit amount is multiplied by (per passenger)

    @property
    def sizeless(self) -> bool:
        return self.fact is None and self.fixed is None and self.percent is None


@dataclass(frozen=True)
class Cap:
    """What one tier may grant for one remedy rule. None means no limit of that kind."""

    max_amount: Decimal | None = None
    max_percent: Decimal | None = None  # of order_value
    max_days: int | None = None
    max_recent_exceptions: int | None = None  # overrides the tier default


@dataclass(frozen=True)
class RemedyRule:
    id: str  # "<situation>.<remedy>" unless the catalog names it
    situation: str
    remedy: str
    amount: AmountSpec
    caps: Mapping[Tier, Cap]  # a tier absent here cannot grant this rule at all
    when: tuple[Condition, ...] = ()
    adjustable: bool = False  # may be offered below `amount` or negotiated (fair ask)
    counts_as_exception: bool = True


@dataclass(frozen=True)
class Situation:
    id: str
    description: str
    needs: tuple[str, ...]  # facts without which no option can be judged
    eligible: tuple[Condition, ...]
    remedies: tuple[RemedyRule, ...]  # in the order the business prefers to offer them
    fair_ask: bool = False  # the customer may share responsibility: ask what is fair
    fair_ask_remedy: str | None = None  # what a bare money ask means here
    handoff_tier: Tier | None = None  # who takes the case when nothing fits; None: the catalog's
    handoff_reason: str = ""  # said with that handoff
    # When one of these holds, nothing is wrong (an order not late yet, a return inside its
    # window): the customer is told the condition's reason, and no case is opened.
    ordinary: tuple[Condition, ...] = ()
    asks: Mapping[str, str] = field(default_factory=dict)  # this situation's own wording of a question
    derive: Mapping[str, Derivation] = field(default_factory=dict)  # facts computed, never asked

    def needed(self) -> set[str]:
        """Facts without which no option can be judged: `needs` and whatever `eligible` reads."""
        named = set(self.needs)
        for condition in self.eligible:
            named |= facts_named(condition)
        return named


@dataclass(frozen=True)
class PlanPolicy:
    min_weekly: Decimal
    min_weekly_percent: Decimal  # of the debt
    max_weeks: Mapping[Tier, int]
    max_debt: Mapping[Tier, Decimal]
    max_deferral_days: Mapping[Tier, int]


@dataclass(frozen=True)
class Catalog:
    version: str  # hash of the canonical content
    label: str
    source: str  # where it was loaded from, for messages
    currency: str
    exception_period_days: int
    facts: Mapping[str, FactSpec]
    remedies: Mapping[str, Remedy]
    tier_max_recent_exceptions: Mapping[Tier, int | None]
    handoff_tier: Tier
    situations: Mapping[str, Situation]
    plans: PlanPolicy | None = None
    return_window_days: int = 30  # days after delivery a normal return is accepted
    notes: Mapping[str, str] = field(default_factory=dict)

    @property
    def situation_ids(self) -> tuple[str, ...]:
        """The situations this catalog declares, in catalog order: the one list of situation ids."""
        return tuple(self.situations)

    def handoff_for(self, situation_id: str) -> Tier:
        """Who takes a case of this situation when nothing fits."""
        situation = self.situations.get(situation_id)
        if situation is not None and situation.handoff_tier is not None:
            return situation.handoff_tier
        return self.handoff_tier

    def constants(self) -> dict[str, int]:
        """The catalog's numbers a derivation may read by name."""
        return {"return_window_days": self.return_window_days, "exception_period_days": self.exception_period_days}

    def asked_facts(self, situation_id: str) -> list[str]:
        """What the customer is asked for in this situation, in catalog order: the conversation
        facts it needs that it does not derive and that have no default."""
        situation = self.situation(situation_id)
        needed = situation.needed()
        return [
            name
            for name, spec in self.facts.items()
            if name in needed
            and spec.source == "conversation"
            and name not in situation.derive
            and spec.default is None
        ]

    def question(self, situation_id: str | None, fact: str) -> str:
        """The question for `fact`: the situation's own wording, else the fact's ("" if none)."""
        situation = self.situations.get(situation_id) if situation_id else None
        own = situation.asks.get(fact) if situation is not None else None
        spec = self.facts.get(fact)
        return own or (spec.ask if spec is not None else "")

    def askable_facts(self) -> tuple[str, ...]:
        """Every fact some situation asks the customer for, in catalog order (the bot's slots)."""
        asked = {f for sid in self.situations for f in self.asked_facts(sid)}
        return tuple(name for name in self.facts if name in asked)

    def derived_facts(self) -> frozenset[str]:
        """Facts some situation computes: never taken from a customer or an agent."""
        return frozenset(f for s in self.situations.values() for f in s.derive)

    def situation(self, situation_id: str) -> Situation:
        try:
            return self.situations[situation_id]
        except KeyError:
            known = ", ".join(sorted(self.situations))
            raise CaseError(f"unknown situation {situation_id!r}; known situations: {known}") from None
