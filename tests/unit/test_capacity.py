"""The capacity model's arithmetic (bench/capacity.py), checked against sums done by hand."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from bench import capacity
from bench.capacity import CapacityError, Figures, Load, figures_from, plan

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]

# rasa 5 turns/s, actions 10 turns/s, ledger 100 writes/s per process
SMALL = Figures(rasa_turns_per_second=5, action_turns_per_second=10, ledger_writes_per_second=100)


def test_a_small_peak_by_hand():
    # 100 conversations, a message every 10 s: 10 turns/s; half of them case turns: 5/s;
    # 5 case turns/s / 2 turns per case = 2.5 cases/s * 1 proposal * 2 writes = 5 writes/s.
    result = plan(Load(conversations=100, think_seconds=10), SMALL, target=0.5)
    assert result.turns_per_second == 10
    assert result.case_turns_per_second == 5
    assert result.ledger_writes_per_second == 5
    assert result.rasa_processes == 4  # 10 / (5 * 0.5) = 4 exactly: not rounded up to 5
    assert result.action_workers == 1  # 5 / (10 * 0.5) = 1 exactly
    assert result.ledger_utilisation == pytest.approx(0.05)
    assert result.ledger_within_target


def test_just_over_a_whole_process_needs_one_more():
    result = plan(Load(conversations=101, think_seconds=10), SMALL, target=0.5)
    assert result.rasa_processes == 5  # 10.1 / 2.5 = 4.04
    assert result.action_workers == 2  # 5.05 / 5 = 1.01


def test_the_target_is_the_headroom():
    load = Load(conversations=100, think_seconds=10)
    assert plan(load, SMALL, target=1.0).rasa_processes == 2  # 10 / 5
    assert plan(load, SMALL, target=0.25).rasa_processes == 8  # 10 / 1.25


def test_the_ledger_over_its_target_is_flagged_not_multiplied():
    figures = Figures(rasa_turns_per_second=5, action_turns_per_second=10, ledger_writes_per_second=10)
    load = Load(conversations=100, think_seconds=10, proposals_per_case=2)  # 10 writes/s
    result = plan(load, figures, target=0.6)
    assert result.ledger_writes_per_second == 10
    assert result.ledger_utilisation == pytest.approx(1.0)
    assert not result.ledger_within_target


def test_no_case_turns_needs_no_action_worker_and_no_ledger():
    result = plan(Load(conversations=30, think_seconds=6, case_share=0), SMALL, target=0.6)
    assert result.rasa_processes == 2  # 5 turns/s / 3
    assert result.action_workers == 0
    assert result.ledger_writes_per_second == 0
    assert result.ledger_within_target


def test_a_tiny_load_still_needs_one_process():
    result = plan(Load(conversations=1, think_seconds=60), SMALL)
    assert (result.rasa_processes, result.action_workers) == (1, 1)


def test_memory_is_per_process_times_processes():
    figures = Figures(5, 10, 100, rasa_memory_mb=1000, action_memory_mb=500)
    result = plan(Load(conversations=100, think_seconds=10), figures, target=0.5)
    assert result.rasa_memory_mb == 4000
    assert result.action_memory_mb == 500


@pytest.mark.parametrize(
    ("load", "message"),
    [
        (Load(conversations=0, think_seconds=5), "conversations"),
        (Load(conversations=-10, think_seconds=5), "conversations"),
        (Load(conversations=1.5, think_seconds=5), "whole number"),  # type: ignore[arg-type]
        (Load(conversations=True, think_seconds=5), "conversations"),
        (Load(conversations=10, think_seconds=0), "think_seconds"),
        (Load(conversations=10, think_seconds=-1), "think_seconds"),
        (Load(conversations=10, think_seconds=math.nan), "think_seconds"),
        (Load(conversations=10, think_seconds=5, case_share=1.2), "case_share"),
        (Load(conversations=10, think_seconds=5, case_share=-0.1), "case_share"),
        (Load(conversations=10, think_seconds=5, turns_per_case=0), "turns_per_case"),
        (Load(conversations=10, think_seconds=5, proposals_per_case=-1), "proposals_per_case"),
        (Load(conversations=10, think_seconds=5, writes_per_proposal=0), "writes_per_proposal"),
    ],
)
def test_an_impossible_load_is_a_clear_error(load, message):
    with pytest.raises(CapacityError, match=message):
        plan(load, SMALL)


@pytest.mark.parametrize("target", [0, -0.5, 1.5, math.inf])
def test_an_impossible_target_is_a_clear_error(target):
    with pytest.raises(CapacityError, match="target"):
        plan(Load(conversations=10, think_seconds=5), SMALL, target=target)


@pytest.mark.parametrize(
    ("figures", "name"),
    [
        (Figures(0, 10, 100), "rasa_turns_per_second"),
        (Figures(5, -1, 100), "action_turns_per_second"),
        (Figures(5, 10, 0), "ledger_writes_per_second"),
    ],
)
def test_a_zero_or_negative_figure_is_a_clear_error(figures, name):
    with pytest.raises(CapacityError, match=name):
        plan(Load(conversations=10, think_seconds=5), figures)


def bench_json(**overrides):
    """The part of docs/benchmarks.json the model reads, in bench/run.py's structure."""
    data = {
        "machine": {"date": "2026-12-02 06:32 UTC"},
        "load": {"turns_per_second": 7.5},
        "latency": {"custom_action_turns": {"mean_ms": 144.7}, "floor_turns": {"mean_ms": 49.3}},
        "ledger": {
            "postgresql": [
                {"writers": 1, "writes_per_second": 150.6},
                {"writers": 10, "writes_per_second": 170.9},
            ]
        },
        "memory_mb": {"rasa": 1230.8, "actions": 507.8},
    }
    data.update(overrides)
    return data


def test_figures_come_from_the_bench_structure():
    figures = figures_from(bench_json())
    assert figures.rasa_turns_per_second == 7.5
    assert figures.action_turns_per_second == pytest.approx(1000 / 95.4)  # 144.7 - 49.3 ms
    assert figures.action_estimated
    assert figures.ledger_writes_per_second == 150.6  # the lowest writer count's, not the best
    assert figures.measured == "2026-12-02 06:32 UTC"


def test_the_actions_servers_measured_service_time_replaces_the_estimate():
    figures = figures_from(
        bench_json(actions_server={"calls": 400, "busy_seconds": 16.0, "calls_per_busy_second": 25.0})
    )
    assert figures.action_turns_per_second == 25.0
    assert not figures.action_estimated


def test_a_measured_action_figure_replaces_the_estimate():
    figures = figures_from(bench_json(), action_turns_per_second=25)
    assert figures.action_turns_per_second == 25
    assert not figures.action_estimated


def test_the_worked_example_of_docs_scaling():
    # 1000 conversations, every 5 s: 200 turns/s; Rasa 200 / (7.5 * 0.6) = 44.4 -> 45;
    # actions 100 / (10.48 * 0.6) = 15.9 -> 16; ledger 100 writes/s of 150.6 = 66 % (> 60 %).
    result = plan(Load(conversations=1000, think_seconds=5), figures_from(bench_json()), target=0.6)
    assert (result.rasa_processes, result.action_workers) == (45, 16)
    assert result.ledger_writes_per_second == 100
    assert result.ledger_utilisation == pytest.approx(100 / 150.6)
    assert not result.ledger_within_target


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (bench_json(load={}), "load.turns_per_second"),
        (bench_json(ledger={"sqlite": []}), "ledger.postgresql"),
        (bench_json(latency={"floor_turns": {"mean_ms": 49.3}}), "latency.custom_action_turns.mean_ms"),
        (
            bench_json(latency={"custom_action_turns": {"mean_ms": 40}, "floor_turns": {"mean_ms": 49.3}}),
            "not slower",
        ),
    ],
)
def test_a_benchmarks_file_without_a_figure_says_which(data, message):
    with pytest.raises(CapacityError, match=message):
        figures_from(data)


def test_the_committed_benchmarks_file_has_every_figure_the_model_reads():
    figures = capacity.load_figures(ROOT / "docs" / "benchmarks.json")
    assert figures.rasa_turns_per_second > 0
    assert figures.action_turns_per_second > 0
    assert figures.ledger_writes_per_second > 0


def test_the_command_prints_a_table(tmp_path, capsys):
    path = tmp_path / "benchmarks.json"
    path.write_text(json.dumps(bench_json()), encoding="utf-8")
    assert capacity.main(["--conversations", "1000", "--think-seconds", "5", "--benchmarks", str(path)]) == 0
    out = capsys.readouterr().out
    assert "Rasa servers" in out and "45" in out
    assert "estimated from latency" in out
    assert "OVER the 60% target" in out


def test_the_command_refuses_a_zero_load_with_a_message(tmp_path, capsys):
    path = tmp_path / "benchmarks.json"
    path.write_text(json.dumps(bench_json()), encoding="utf-8")
    assert capacity.main(["--conversations", "0", "--think-seconds", "5", "--benchmarks", str(path)]) == 2
    assert "conversations must be a whole number above zero" in capsys.readouterr().err


def test_the_command_names_an_unreadable_benchmarks_file(tmp_path, capsys):
    missing = tmp_path / "nope.json"
    assert capacity.main(["--conversations", "10", "--think-seconds", "5", "--benchmarks", str(missing)]) == 2
    assert "nope.json" in capsys.readouterr().err


def test_the_actions_memory_is_shared_out_over_its_workers():
    two = figures_from(bench_json(memory_mb={"rasa": 1230.8, "actions": 1100.0}, actions_workers=2))
    assert two.action_memory_mb == pytest.approx(550.0)
    older = figures_from(bench_json())  # no actions_workers: one process measured
    assert older.action_memory_mb == 507.8
