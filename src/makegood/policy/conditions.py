"""A small declarative condition language for the catalog. Nothing is evaluated as code.

    {fact: days_since_delivery, max: 30}          # fact <= 30
    {fact: membership, in: [gold, platinum]}
    {fact: customer_at_fault, is: false}
    {fact: hardship_reason, present: true}        # the case has the fact (never "missing")
    {any: [<condition>, ...]}   {all: [...]}   {not: <condition>}

Each condition may carry `reason:`, the sentence shown when it blocks something.
Evaluation is three-valued: a fact the case does not have yet is *missing*, which is
neither true nor false — the caller asks for the fact instead of refusing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeAlias

OPERATORS = ("is", "in", "not_in", "min", "max", "above", "below", "present", "absent")


@dataclass(frozen=True)
class Missing:
    facts: frozenset[str]

    def __bool__(self) -> bool:  # a missing fact never allows anything by accident
        return False


Outcome: TypeAlias = bool | Missing


@dataclass(frozen=True)
class FactTest:
    fact: str
    op: str
    operand: object
    reason: str = ""

    def evaluate(self, facts: Mapping[str, object]) -> Outcome:
        op, operand = self.op, self.operand
        if op in ("present", "absent"):  # about the fact being known: true or false, never missing
            given = facts.get(self.fact) is not None
            return given == (operand is True) if op == "present" else given != (operand is True)
        if facts.get(self.fact) is None:
            return Missing(frozenset({self.fact}))
        value = facts[self.fact]
        if op == "is":
            return value == operand
        if op == "in":
            return value in operand  # type: ignore[operator]
        if op == "not_in":
            return value not in operand  # type: ignore[operator]
        number = Decimal(str(value))
        bound = Decimal(str(operand))
        return {
            "min": number >= bound,
            "max": number <= bound,
            "above": number > bound,
            "below": number < bound,
        }[op]

    def describe(self) -> str:
        if self.reason:
            return self.reason
        if self.op in ("present", "absent"):
            known = (self.op == "present") == (self.operand is True)
            return f"{self.fact} is {'known' if known else 'not known'}"
        words = {
            "is": "is",
            "in": "is one of",
            "not_in": "is not one of",
            "min": ">=",
            "max": "<=",
            "above": ">",
            "below": "<",
        }
        operand = ", ".join(map(str, self.operand)) if isinstance(self.operand, (list, tuple)) else self.operand
        return f"{self.fact} {words[self.op]} {operand}"


@dataclass(frozen=True)
class AllOf:
    parts: tuple[Condition, ...]
    reason: str = ""

    def evaluate(self, facts: Mapping[str, object]) -> Outcome:
        return _combine([p.evaluate(facts) for p in self.parts], want_all=True)

    def describe(self) -> str:
        return self.reason or " and ".join(p.describe() for p in self.parts)


@dataclass(frozen=True)
class AnyOf:
    parts: tuple[Condition, ...]
    reason: str = ""

    def evaluate(self, facts: Mapping[str, object]) -> Outcome:
        return _combine([p.evaluate(facts) for p in self.parts], want_all=False)

    def describe(self) -> str:
        return self.reason or "(" + " or ".join(p.describe() for p in self.parts) + ")"


@dataclass(frozen=True)
class Not:
    part: Condition
    reason: str = ""

    def evaluate(self, facts: Mapping[str, object]) -> Outcome:
        outcome = self.part.evaluate(facts)
        return outcome if isinstance(outcome, Missing) else not outcome

    def describe(self) -> str:
        return self.reason or f"not ({self.part.describe()})"


Condition: TypeAlias = FactTest | AllOf | AnyOf | Not


def _combine(outcomes: list[Outcome], want_all: bool) -> Outcome:
    # A decisive answer wins over a missing fact: one false part sinks an "all",
    # one true part carries an "any", whatever else is unknown.
    decisive = not want_all
    if any(o is decisive for o in outcomes):
        return decisive
    missing = frozenset().union(*(o.facts for o in outcomes if isinstance(o, Missing)))
    return Missing(missing) if missing else (not decisive)


def first_failure(conditions: tuple[Condition, ...], facts: Mapping[str, object]) -> tuple[Outcome, Condition | None]:
    """Evaluate a list (an implicit "all"); return the outcome and the condition that decided a no."""
    missing: frozenset[str] = frozenset()
    for condition in conditions:
        outcome = condition.evaluate(facts)
        if isinstance(outcome, Missing):
            missing |= outcome.facts
        elif not outcome:
            return False, condition
    return (Missing(missing), None) if missing else (True, None)


def facts_named(condition: Condition) -> set[str]:
    if isinstance(condition, FactTest):
        return {condition.fact}
    if isinstance(condition, Not):
        return facts_named(condition.part)
    return set().union(*(facts_named(p) for p in condition.parts))
