"""The conversation pass rate: the independent conversation set (tests/eval/conversations.yml),
run end to end by its own test, which starts its own servers and writes
docs/conversation-results.md and .json ({passed, checks, conversations}). bench runs it and
reads the figure; a smoke run does not run it and only reads the last figure on file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "docs" / "conversation-results.json"
COMMAND = ["-m", "pytest", "-m", "e2e", "tests/e2e/test_conversation_set.py", "-p", "no:cacheprovider", "-q"]
TIMEOUT = 3600


def _utc(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def read(path: Path = RESULTS) -> dict:
    """The figures in a conversation-results.json, with the pass rate; {} when absent or unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        passed, checks = int(data["passed"]), int(data["checks"])
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    return {
        "passed": passed,
        "checks": checks,
        "conversations": int(data.get("conversations") or 0),
        "pass_rate": round(passed / checks, 4) if checks else 0.0,
        "file_date": _utc(path.stat().st_mtime),
    }


def last_on_file() -> dict:
    """Smoke runs: the figure the last full run of the set left, not run now."""
    return {"ran": False, **read(), "command": "python " + " ".join(COMMAND)}


def run() -> dict:
    started = time.time()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    try:
        result = subprocess.run(
            [sys.executable, *COMMAND], cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT
        )
        returncode, output = result.returncode, result.stdout + result.stderr
    except subprocess.TimeoutExpired as exc:
        returncode, output = None, f"timed out after {TIMEOUT} s: {exc}"
    figures = read()
    fresh = bool(figures) and RESULTS.stat().st_mtime >= started
    return {
        "ran": True,
        "date": _utc(started),
        "seconds": round(time.time() - started, 1),
        "returncode": returncode,
        "fresh": fresh,
        **(figures if fresh else {}),
        "command": "python " + " ".join(COMMAND),
        "output_tail": None if returncode == 0 else output[-3000:],
    }
