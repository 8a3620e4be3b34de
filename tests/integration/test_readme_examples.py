"""Every `makegood` example in the README's ```sh blocks and in docs/policy.md works as written:
it exits 0 (or 1 where the command's answer is "no"), and never with a traceback."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def examples(path: Path, language: str) -> list[str]:
    """`makegood ...` lines inside fenced blocks opened with ```<language> ("" = no language)."""
    found, inside = [], None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            inside = None if inside is not None else line[3:].strip()
        elif inside == language and line.strip().startswith("makegood "):
            found.append(line.strip())
    return found


README = examples(ROOT / "README.md", "sh")
POLICY_DOC = [line for line in examples(ROOT / "docs" / "policy.md", "") if " error:" not in line]


def test_the_docs_have_examples():
    assert len(README) >= 10 and len(POLICY_DOC) >= 4


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    db = tmp_path_factory.mktemp("readme") / "readme.db"
    return {**os.environ, "MAKEGOOD_DATABASE_URL": f"sqlite:///{db}", "MAKEGOOD_POLICY_PATH": str(ROOT / "policy")}


@pytest.mark.parametrize("command", README + POLICY_DOC)
def test_documented_command_works_as_written(command, env):
    makegood = Path(sys.executable).with_name("makegood")
    argv = shlex.split(command)
    result = subprocess.run([str(makegood), *argv[1:]], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    allowed = {0, 1} if argv[1] in ("check", "ledger") else {0}
    assert result.returncode in allowed, f"{command}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    assert "Traceback" not in result.stderr
    assert result.stdout.strip(), f"{command} printed nothing"
