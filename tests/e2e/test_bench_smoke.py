"""`make bench` is not part of `make test`, but its harness is: a smoke-sized run of every
phase must finish, and it must find zero errors and zero lost proposals. The smoke run never
trains (the landed DIET model only from the models/bench/ cache), scores samples of both NLU
sets with the other three models, and reads the conversation pass rate instead of running the set."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.support.servers import ROOT

pytestmark = pytest.mark.e2e


def test_bench_harness_smoke_run(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "bench.run", "--smoke", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "7/11 how latency grows" in result.stdout and "done in" in result.stdout
    assert "8/11 saturation" in result.stdout and "9/11 peak" in result.stdout
    assert "10/11 the cluster topology: not run in a smoke run" in result.stdout  # test_cluster.py runs its load
    assert "11/11 the independent conversation set: not run in a smoke run" in result.stdout
    assert "training the landed DIET model" not in result.stdout  # a smoke run never trains
    assert "problem:" not in result.stdout

    nlu = json.loads((tmp_path / "nlu-results.json").read_text(encoding="utf-8"))
    assert set(nlu["sets"]) == {"independent", "held_out"}
    for entry in nlu["sets"].values():
        assert {"makegood", "tfidf_lr", "minilm_lr"} <= set(entry["scores"])
    for name in ("benchmarks.md", "nlu-results.md", "charts/confusion_independent.png", "charts/situation_f1.png"):
        assert (tmp_path / name).is_file(), name
    bench = json.loads((tmp_path / "benchmarks.json").read_text(encoding="utf-8"))
    assert (
        bench["peak"]["errors"] == 0
        and bench["peak"]["accepted_proposals_in_ledger"] == bench["peak"]["expected_proposals"]
    )
    assert bench["saturation"]["floor_turns_per_second"] > 0 and bench["actions_server"]["calls"] > 0
    assert "## 8. Saturation and a contact center's peak" in (tmp_path / "benchmarks.md").read_text(encoding="utf-8")
