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

import operator
from collections.abc import Callable, Mapping
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


# -- compiled once per catalog (policy/compiled.py), evaluated per call ---------------------------------
#
# `compile_condition` turns a condition into a closure that gives exactly what `condition.evaluate`
# gives, with the work that does not depend on the case done once: the bound of a numeric test is
# parsed to a Decimal, the `Missing` answer is built, the operator is chosen. Anything it does not
# recognise (a hand-built condition, an operator the loader would refuse) keeps its own `evaluate`.

Evaluator: TypeAlias = Callable[[Mapping[str, object]], Outcome]
_COMPARE: dict[str, Callable[[Decimal, Decimal], bool]] = {
    "min": operator.ge,
    "max": operator.le,
    "above": operator.gt,
    "below": operator.lt,
}


def as_number(value: object) -> Decimal:
    """`Decimal(str(value))`, the engine's reading of a numeric fact, without the round trip through
    text for a value that is already a Decimal or an int (the same number either way)."""
    kind = type(value)
    if kind is Decimal:
        return value  # type: ignore[return-value]
    if kind is int:
        return Decimal(value)  # type: ignore[arg-type]
    return Decimal(str(value))


def compile_condition(condition: Condition) -> Evaluator:
    kind = type(condition)
    if kind is FactTest:
        return _compile_test(condition)  # type: ignore[arg-type]
    if kind is AllOf or kind is AnyOf:
        parts = tuple(compile_condition(p) for p in condition.parts)  # type: ignore[union-attr]
        want_all = kind is AllOf

        def combined(facts: Mapping[str, object]) -> Outcome:
            return _combine([p(facts) for p in parts], want_all=want_all)

        return combined
    if kind is Not:
        part = compile_condition(condition.part)  # type: ignore[union-attr]

        def negated(facts: Mapping[str, object]) -> Outcome:
            outcome = part(facts)
            return outcome if isinstance(outcome, Missing) else not outcome

        return negated
    return condition.evaluate


def _compile_test(test: FactTest) -> Evaluator:
    fact, op, operand = test.fact, test.op, test.operand
    if op in ("present", "absent"):
        known_means = (operand is True) if op == "present" else (operand is not True)

        def known(facts: Mapping[str, object]) -> Outcome:
            return (facts.get(fact) is not None) == known_means

        return known
    missing = Missing(frozenset({fact}))
    if op == "is":

        def equals(facts: Mapping[str, object]) -> Outcome:
            value = facts.get(fact)
            return missing if value is None else value == operand

        return equals
    if op in ("in", "not_in"):
        inside = op == "in"

        def member(facts: Mapping[str, object]) -> Outcome:
            value = facts.get(fact)
            if value is None:
                return missing
            return (value in operand) == inside  # type: ignore[operator]

        return member
    compare = _COMPARE.get(op)
    try:
        bound = Decimal(str(operand))
    except Exception:  # noqa: BLE001 - not a number: evaluate() raises as it always did, when asked
        compare = None
    if compare is None:
        return test.evaluate

    def numeric(facts: Mapping[str, object]) -> Outcome:
        value = facts.get(fact)
        return missing if value is None else compare(as_number(value), bound)

    return numeric


class CompiledConditions:
    """A list of conditions (an implicit "all") compiled: `first_failure` as the module function
    gives it, except that the condition that said no comes as its `describe()` text, worked out once."""

    __slots__ = ("_items",)

    def __init__(self, conditions: tuple[Condition, ...]) -> None:
        self._items = tuple((compile_condition(c), _described(c), c) for c in conditions)

    def __bool__(self) -> bool:
        return bool(self._items)

    def first_failure(self, facts: Mapping[str, object]) -> tuple[Outcome, str | None]:
        missing: frozenset[str] = frozenset()
        for evaluate, described, condition in self._items:
            outcome = evaluate(facts)
            if isinstance(outcome, Missing):
                missing |= outcome.facts
            elif not outcome:
                return False, described if described is not None else condition.describe()
        return (Missing(missing), None) if missing else (True, None)

    def first_true(self, facts: Mapping[str, object]) -> str | None:
        """The `describe()` of the first condition that holds (`is True`), or None."""
        for evaluate, described, condition in self._items:
            if evaluate(facts) is True:
                return described if described is not None else condition.describe()
        return None


def _described(condition: Condition) -> str | None:
    try:
        return condition.describe()
    except Exception:  # noqa: BLE001 - a condition that cannot say itself fails when asked, as before
        return None
