"""The benchmark report puts the cluster beside the embedded default, and flags what went wrong."""

from __future__ import annotations

import pytest

from bench import report

pytestmark = pytest.mark.unit


def _row(concurrency: int, errors: int = 0, p50: float = 100.0) -> dict:
    return {
        "concurrency": concurrency,
        "n": 2 * concurrency,
        "p50_ms": p50,
        "p95_ms": 2 * p50,
        "p99_ms": 3 * p50,
        "mean_ms": p50,
        "turns_per_second": 9.5,
        "errors": errors,
        "first_errors": ["bench-x: TimeoutError: "] if errors else [],
    }


def _peak(errors: int = 0, logged: int = 100) -> dict:
    turns = {"n": 300, "p50_ms": 400.0, "p95_ms": 1500.0, "p99_ms": 1900.0, "mean_ms": 500.0}
    return {
        "conversations": 100,
        "think_seconds": 5.0,
        "offered_turns_per_second": 20.0,
        "seconds": 16.0,
        "all_turns": turns,
        "case_turns": turns,
        "errors": errors,
        "first_errors": [],
        "accepted_proposals_in_ledger": logged,
        "expected_proposals": 100,
    }


def test_the_cluster_section_sets_each_concurrency_beside_the_embedded_figure():
    results = {
        "scaling": [_row(1, p50=110.0), _row(50, p50=5000.0)],
        "peak": {**_peak(), "all_turns": {**_peak()["all_turns"], "p99_ms": 19000.0}},
        "cluster": {
            "rasa_processes": 2,
            "scaling": [_row(1, p50=120.0), _row(50, p50=2500.0)],
            "peak": _peak(),
            "memory_mb": {"rasa-1": 1100.0, "rasa-2": 1090.0},
        },
    }
    text = "\n".join(report._cluster_section(results))
    assert "| 1 | 110.0 ms | 330.0 ms | 9.5 | 120.0 ms | 360.0 ms | 9.5 | 0 |" in text
    assert "| 50 | 5000.0 ms | 15000.0 ms | 9.5 | 2500.0 ms | 7500.0 ms | 9.5 | 0 |" in text
    assert "p99 **1900.0 ms** (embedded: 19000.0 ms)" in text and ": met." in text
    assert "rasa-1 1100 MB" in text
    headline = "\n".join(report._headline_scale(results))
    assert "peak on the embedded default" in headline and "peak on make cluster" in headline


def test_a_skipped_cluster_says_why():
    text = "\n".join(report._cluster_section({"cluster": {"skipped": "Redis is not reachable at 127.0.0.1:6379"}}))
    assert "Not measured: Redis is not reachable at 127.0.0.1:6379" in text


def test_errors_lost_proposals_and_a_failed_start_on_the_cluster_are_problems():
    assert report.problems({"cluster": {"rasa_processes": 2, "scaling": [_row(10)], "peak": _peak()}}) == []
    found = report.problems({"cluster": {"scaling": [_row(10, errors=3)], "peak": _peak(errors=1, logged=98)}})
    assert any("3 errors on the cluster at 10 at once" in p for p in found)
    assert any("1 errors at peak load on the cluster" in p for p in found)
    assert any("the cluster's ledger has 98 accepted proposals, expected 100" in p for p in found)
    failed = report.problems({"cluster": {"skipped": "the cluster did not start: rasa-2 exited", "failed": True}})
    assert failed == ["the cluster did not start: rasa-2 exited"]


def test_errors_at_any_concurrency_on_the_embedded_default_are_problems():
    found = report.problems({"scaling": [_row(1), _row(100, errors=54)]})
    assert found == ["54 errors at 100 concurrent conversations: ['bench-x: TimeoutError: ']"]
