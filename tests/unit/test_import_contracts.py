"""The import contracts in pyproject.toml (`lint-imports`, run by `make lint` and `make test`)
name modules one by one where import-linter cannot say "all but": these tests keep those lists
complete, so a new module is covered the day it is added."""

from __future__ import annotations

from pathlib import Path

import pytest
import tomli

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "makegood"
POLICY_TYPES = {"makegood.policy.tiers", "makegood.policy.model"}  # what the ledger may use


def _contract(contract_id: str) -> dict:
    config = tomli.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    [contract] = [c for c in config["tool"]["importlinter"]["contracts"] if c.get("id") == contract_id]
    return contract


def _children(package: Path, prefix: str) -> set[str]:
    """The modules and subpackages directly inside `package`, as dotted names."""
    names = {p.stem for p in package.glob("*.py") if p.stem != "__init__"}
    names |= {p.name for p in package.iterdir() if (p / "__init__.py").is_file()}
    return {f"{prefix}.{n}" for n in names}


def test_the_policy_contract_forbids_every_other_module_of_ours():
    allowed = {"makegood.policy", "makegood.errors", "makegood.money"}
    expected = (_children(PACKAGE, "makegood") - allowed) | {"makegood_rasa", "actions"}
    assert set(_contract("policy-imports-only-errors-money")["forbidden_modules"]) == expected


def test_the_ledger_contract_forbids_every_engine_module_but_the_types():
    modules = _children(PACKAGE / "policy", "makegood.policy")
    assert POLICY_TYPES.issubset(modules)
    engine = modules - POLICY_TYPES
    assert set(_contract("ledger-policy-types-only")["forbidden_modules"]) == engine | {"makegood.policy"}
