"""The catalog loader's limits: a wrong path or a hostile file gets one PolicyError naming the
file, never a RecursionError, a MemoryError or a hang. Also through `makegood policy validate`
(one line on stderr, exit 2)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from makegood.errors import PolicyError
from makegood.policy import load_catalog, parse_catalog
from makegood.policy.loader import MAX_ALIASES, MAX_CATALOG_BYTES, MAX_NESTING

pytestmark = pytest.mark.unit

POLICY = Path(__file__).parents[2] / "policy"
TEXT = (POLICY / "catalog.yml").read_text(encoding="utf-8")


def nested(levels: int, flow: bool = True) -> str:
    if flow:
        return "label: x\nextra: " + "[" * levels + "]" * levels + "\n"
    return "label: x\n" + "".join(f"{'  ' * i}k{i}:\n" for i in range(levels)) + f"{'  ' * levels}v: 1\n"


def test_the_shipped_catalog_is_well_inside_the_limits():
    assert len(TEXT.encode()) < MAX_CATALOG_BYTES // 10
    assert load_catalog(POLICY).situations


@pytest.mark.parametrize("flow", [True, False], ids=["flow", "block"])
def test_deep_nesting_is_refused_with_a_policy_error_not_a_recursion_error(tmp_path, flow):
    path = tmp_path / "deep.yml"
    path.write_text(nested(100_000 if flow else 500, flow), encoding="utf-8")
    with pytest.raises(PolicyError) as err:
        load_catalog(path)
    message = str(err.value)
    assert str(path) in message and f"more than {MAX_NESTING} levels" in message


def test_nesting_just_inside_the_limit_reaches_the_validator():
    # 20 levels is allowed by the loader; the validator then says what is wrong with the content.
    with pytest.raises(PolicyError) as err:
        parse_catalog(nested(MAX_NESTING - 1), source="ok-depth.yml")
    assert "levels" not in str(err.value)


def test_dev_zero_is_refused_without_reading_it():
    with pytest.raises(PolicyError) as err:
        load_catalog("/dev/zero")
    assert "/dev/zero" in str(err.value) and "not a regular file" in str(err.value)


def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "catalog.yml"
    os.mkfifo(fifo)
    with pytest.raises(PolicyError) as err:
        load_catalog(tmp_path)  # the directory's catalog.yml is a FIFO: opening it would block forever
    assert "not a regular file" in str(err.value)


def test_a_file_over_one_megabyte_is_refused(tmp_path):
    big = tmp_path / "big.yml"
    big.write_text(TEXT + "\n" + "# padding\n" * (MAX_CATALOG_BYTES // 10 + 1), encoding="utf-8")
    with pytest.raises(PolicyError) as err:
        load_catalog(big)
    assert str(big) in str(err.value) and "larger than 1 MB" in str(err.value)


def test_text_over_the_limit_is_refused_by_parse_catalog_too():
    with pytest.raises(PolicyError, match="larger than"):
        parse_catalog("#" * (MAX_CATALOG_BYTES + 1), source="inline")


def test_a_billion_laughs_is_refused():
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 12):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    with pytest.raises(PolicyError) as err:
        parse_catalog("\n".join(lines), source="laughs.yml")
    assert f"more than {MAX_ALIASES} YAML aliases" in str(err.value)


def test_a_few_aliases_are_still_fine():
    raw = yaml.safe_load(TEXT)
    assert parse_catalog(yaml.safe_dump(raw)).version == load_catalog(POLICY).version
    text = "x: &shared {a: 1}\n" + "".join(f"y{i}: *shared\n" for i in range(5))
    with pytest.raises(PolicyError) as err:  # not a catalog, but it gets past the shape check
        parse_catalog(text, source="aliases.yml")
    assert "YAML aliases" not in str(err.value)


def test_not_utf8_is_one_clear_error(tmp_path):
    path = tmp_path / "latin1.yml"
    path.write_bytes("label: café\n".encode("latin-1"))
    with pytest.raises(PolicyError) as err:
        load_catalog(path)
    assert str(path) in str(err.value) and "not UTF-8" in str(err.value)


# -- through the command ----------------------------------------------------------------------------
def run(*argv: str, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    makegood = Path(sys.executable).with_name("makegood")
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run([str(makegood), *argv], capture_output=True, text=True, timeout=60, env=env)


@pytest.mark.parametrize("kind", ["deep", "dev-zero", "env-dev-zero", "big"])
def test_policy_validate_says_one_line_and_exits_2(tmp_path, kind):
    env_extra = None
    if kind == "deep":
        path = tmp_path / "deep.yml"
        path.write_text(nested(50_000), encoding="utf-8")
        argv = ["policy", "validate", str(path)]
    elif kind == "big":
        path = tmp_path / "big.yml"
        path.write_bytes(b"#" * (MAX_CATALOG_BYTES + 10))
        argv = ["policy", "validate", str(path)]
    elif kind == "dev-zero":
        path, argv = Path("/dev/zero"), ["policy", "validate", "/dev/zero"]
    else:
        path, argv, env_extra = Path("/dev/zero"), ["policy", "show"], {"MAKEGOOD_POLICY_PATH": "/dev/zero"}
    result = run(*argv, env_extra=env_extra)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("makegood: error: ") and str(path) in lines[0], result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
