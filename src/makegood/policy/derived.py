"""Derived facts: a fact the catalog computes from others, so nobody is asked what is known.

    derive:
      days_past_window: "max(0, days_since_delivery - return_window_days)"

An expression is whole-number arithmetic over facts and the catalog's constants
(`return_window_days`, `exception_period_days`): `+`, `-`, `*`, parentheses, whole numbers,
`min(...)` and `max(...)`. It is parsed once, when the catalog loads, from a whitelist of
Python's own expression grammar — nothing is ever `eval`ed — and bounded in length and size so
a policy file cannot make loading slow. When a fact it reads is unknown, the derived fact is
unknown too (and the case asks for what is missing, as for any fact).
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from makegood.errors import PolicyError

MAX_EXPRESSION = 200  # characters
MAX_NODES = 40
_FUNCTIONS: dict[str, Callable[..., Decimal]] = {"min": min, "max": max}
_OPERATORS: dict[type, Callable[[Decimal, Decimal], Decimal]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
}


class DerivationError(PolicyError):
    """An expression the catalog cannot use; the loader adds where it is."""


@dataclass(frozen=True)
class Derivation:
    fact: str
    text: str  # as written, for messages and the docs
    reads: frozenset[str]  # the names it uses: facts and constants
    _tree: ast.expr

    def evaluate(self, values: Mapping[str, object]) -> Decimal | None:
        """The value, or None when a name it reads has no value."""
        if any(values.get(name) is None for name in self.reads):
            return None
        return _evaluate(self._tree, values)


def parse_derivation(fact: str, text: object, names: set[str]) -> Derivation:
    """Parse `text` as a derivation of `fact` that may read `names`; DerivationError says why not."""
    if not isinstance(text, str) or not text.strip():
        raise DerivationError("expected an expression such as days_since_delivery - return_window_days")
    if len(text) > MAX_EXPRESSION:
        raise DerivationError(f"the expression is {len(text)} characters long; at most {MAX_EXPRESSION}")
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError:
        raise DerivationError(f"cannot read {text!r} as an expression") from None
    nodes = list(ast.walk(tree))
    if len(nodes) > MAX_NODES:
        raise DerivationError(f"the expression is too complex ({len(nodes)} parts; at most {MAX_NODES})")
    reads = {node.id for node in nodes if isinstance(node, ast.Name) and not _is_call_name(node, nodes)}
    for node in nodes:
        _check_node(node, nodes)
    unknown = sorted(reads - names)
    if unknown:
        raise DerivationError(f"{', '.join(unknown)} is not a fact or a catalog constant")
    if fact in reads:
        raise DerivationError(f"{fact} cannot be derived from itself")
    return Derivation(fact=fact, text=text.strip(), reads=frozenset(reads), _tree=tree)


def _is_call_name(node: ast.Name, nodes: list[ast.AST]) -> bool:
    return any(isinstance(n, ast.Call) and n.func is node for n in nodes)


def _check_node(node: ast.AST, nodes: list[ast.AST]) -> None:
    if isinstance(node, (ast.BinOp, ast.UnaryOp, ast.Name, ast.Load)) or type(node) in _OPERATORS:
        if isinstance(node, ast.BinOp) and type(node.op) not in _OPERATORS:
            raise DerivationError("only +, - and * are allowed")
        if isinstance(node, ast.UnaryOp) and not isinstance(node.op, ast.USub):
            raise DerivationError("only +, - and * are allowed")
        return
    if isinstance(node, ast.USub):
        return
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int):
            raise DerivationError(f"only whole numbers are allowed, got {node.value!r}")
        return
    if isinstance(node, ast.Call):
        name = node.func.id if isinstance(node.func, ast.Name) else None
        if name not in _FUNCTIONS or node.keywords or len(node.args) < 2:
            raise DerivationError("the only functions are min(a, b, ...) and max(a, b, ...)")
        return
    raise DerivationError(f"{type(node).__name__.lower()} is not allowed; use facts, whole numbers, + - *, min, max")


def _evaluate(node: ast.expr, values: Mapping[str, object]) -> Decimal:
    if isinstance(node, ast.Constant) and isinstance(node.value, int):
        return Decimal(node.value)
    if isinstance(node, ast.Name):
        return Decimal(str(values[node.id]))
    if isinstance(node, ast.UnaryOp):
        return -_evaluate(node.operand, values)
    if isinstance(node, ast.BinOp):
        return _OPERATORS[type(node.op)](_evaluate(node.left, values), _evaluate(node.right, values))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return _FUNCTIONS[node.func.id](*(_evaluate(a, values) for a in node.args))
    raise DerivationError(f"cannot evaluate {type(node).__name__}")  # unreachable after parsing
