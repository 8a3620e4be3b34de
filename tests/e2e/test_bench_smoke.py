"""`make bench` is not part of `make test`, but its harness is: a smoke-sized run of every
phase must finish, and it must find zero errors and zero lost proposals."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support.servers import ROOT

pytestmark = pytest.mark.e2e


def test_bench_harness_smoke_run():
    result = subprocess.run([sys.executable, "-m", "bench.run", "--smoke"], cwd=ROOT, capture_output=True, text=True,
                            timeout=1200)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "7/7 how latency grows" in result.stdout and "done in" in result.stdout
    assert "problem:" not in result.stdout
