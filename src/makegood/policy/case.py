"""A case: one situation and the facts known about it, typed by the catalog's fact specs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import SupportsInt

from makegood.errors import CaseError
from makegood.money import to_money
from makegood.policy.cumulative import History
from makegood.policy.model import Catalog, FactSpec

# A case about a delay or a window can be long, but not longer than ten years.
MAX_DAYS = 3650
MAX_COUNT = 10000
MAX_MONTHS = 1200  # a hundred years: tenure, months of a term
MAX_HOURS = MAX_DAYS * 24  # a delay or an outage, in whole hours
WHOLE_LIMITS = {"days": MAX_DAYS, "count": MAX_COUNT, "month": MAX_MONTHS, "hour": MAX_HOURS}
_TRUE = {"true", "yes", "y", "1"}
_FALSE = {"false", "no", "n", "0"}


def coerce_fact(spec: FactSpec, value: object) -> object:
    """Turn a raw value (YAML, CLI text, JSON, a slot) into the fact's type, or say why not."""
    what = f"fact {spec.name}"
    if spec.type == "money":
        return to_money(value, what)
    if spec.type in WHOLE_LIMITS:
        return coerce_whole(spec, value)
    if spec.type == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise CaseError(f"{what} must be true or false, got {value!r}")
    # enum: matched whatever the case ("Navy Blue" = "navy blue"); the catalog's spelling is kept.
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise CaseError(
            f"{what} must be one of {', '.join(spec.values)}, got {value!r}"
            + (
                " (write the value in quotes: a bare yes/no/true/false is read as true or false)"
                if isinstance(value, bool)
                else ""
            )
        )
    canonical = enum_value(spec, value)
    if canonical is None:
        raise CaseError(f"{what} must be one of {', '.join(spec.values)}, got {value!r}")
    return canonical


def whole(value: object) -> int:
    """`int(value)` for a fact already typed as a whole number (or its text), as mypy can check it."""
    if isinstance(value, (str, SupportsInt)):
        return int(value)
    raise TypeError(f"expected a whole number, got {type(value).__name__}")


def coerce_whole(spec: FactSpec, value: object) -> int:
    """`coerce_fact` for a whole-number fact (days, count, month, hour): an int within its limit."""
    what = f"fact {spec.name}"
    if isinstance(value, bool):
        raise CaseError(f"{what} must be a whole number, got {value!r}")
    try:
        number = Decimal(str(value).strip())
    except Exception:  # noqa: BLE001 - any unparsable text is the same user error
        raise CaseError(f"{what} must be a whole number, got {value!r}") from None
    if not number.is_finite() or number != number.to_integral_value():
        raise CaseError(f"{what} must be a whole number, got {value!r}")
    limit = WHOLE_LIMITS[spec.type]
    if number < 0 or number > limit:
        raise CaseError(f"{what} must be between 0 and {limit}, got {value!r}")
    return int(number)


def enum_value(spec: FactSpec, value: object) -> str | None:
    """The declared value `value` means, compared without case or surrounding spaces; None if none."""
    wanted = " ".join(str(value).split()).casefold()
    return next((v for v in spec.values if " ".join(v.split()).casefold() == wanted), None)


def derived_facts(catalog: Catalog, situation: str, facts: Mapping[str, object]) -> dict[str, object]:
    """The situation's derived facts from `facts` (those whose inputs are known). A computed
    value replaces one given: nobody is asked, or believed about, what the catalog works out.
    Below zero counts as zero (days past a window that has not closed are none)."""
    values: dict[str, object] = {**catalog.constants(), **facts}
    derived: dict[str, object] = {}
    for name, derivation in catalog.situation(situation).derive.items():
        value = derivation.evaluate(values)
        if value is None:
            continue
        spec = catalog.facts[name]
        value = max(value, Decimal(0))
        if spec.type in WHOLE_LIMITS:
            value = min(value.to_integral_value(), Decimal(WHOLE_LIMITS[spec.type]))
        derived[name] = values[name] = coerce_fact(spec, value)
    return derived


@dataclass(frozen=True)
class Case:
    situation: str
    facts: Mapping[str, object]
    # What this customer has already been given (cumulative limits); None where unknown,
    # e.g. a what-if on facts alone. The decisions service re-checks at grant time anyway.
    history: History | None = None

    @classmethod
    def build(
        cls, catalog: Catalog, situation: str, facts: Mapping[str, object] | None = None, history: History | None = None
    ) -> Case:
        """Validate the situation and every fact; fill catalog defaults for facts not given."""
        catalog.situation(situation)  # raises CaseError naming the known situations
        typed: dict[str, object] = {}
        for name, raw in (facts or {}).items():
            spec = catalog.facts.get(name)
            if spec is None:
                known = ", ".join(sorted(catalog.facts))
                raise CaseError(f"unknown fact {name!r}; known facts: {known}")
            if raw is None or raw == "":
                continue
            typed[name] = coerce_fact(spec, raw)
        for name, spec in catalog.facts.items():
            if name not in typed and spec.default is not None:
                typed[name] = spec.default
        typed.update(derived_facts(catalog, situation, typed))
        return cls(situation=situation, facts=MappingProxyType(dict(sorted(typed.items()))), history=history)

    def get(self, name: str) -> object:
        return self.facts.get(name)

    def as_json(self) -> dict[str, object]:
        """Facts for the ledger and the API: money as text so nothing becomes a float."""
        return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in self.facts.items()}
