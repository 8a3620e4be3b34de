"""How many processes a peak load needs, from the figures `make bench` measured here.

    python -m bench.capacity --conversations 1000 --think-seconds 5
    python -m bench.capacity --conversations 300 --think-seconds 8 --case-share 0.3 --target 0.5

The model (docs/scaling.md, "Capacity model"):

    turns/s        = conversations / think_seconds   (each customer writes every think_seconds;
                                                      the bot's own time is left out: it only
                                                      makes the estimate safer)
    case turns/s   = turns/s * case_share            (the turns that reach the actions server
                                                      and the ledger)
    ledger writes/s = case turns/s / turns_per_case * proposals_per_case * writes_per_proposal

    Rasa processes  = ceil(turns/s      / (rasa_turns_per_second   * target))
    action workers  = ceil(case turns/s / (action_turns_per_second * target))
    ledger          = writes/s against ledger_writes_per_second * target: one PostgreSQL
                      database is the single writer (the audit chain takes an advisory lock),
                      so it is a utilisation to watch, not a count to multiply.

Where each measured figure comes from (docs/benchmarks.json, written by `make bench`):

    rasa_turns_per_second    load.turns_per_second: 200 two-turn case conversations, 50 at once,
                             one Rasa process and one actions worker sharing 2 cores. Every turn
                             there was a case turn, so it is the pessimistic figure per process.
    action_turns_per_second  actions_server.calls_per_busy_second: the actions server's own time
                             per call over the whole bench (its metrics, every worker added up);
                             a case turn is one call, so one worker kept busy serves that many
                             case turns/s. Older benchmark files lack it: then it is estimated
                             from the latency run as 1000 / (custom-action turn mean ms - floor
                             turn mean ms), and said so (or pass --action-turns-per-second).
    ledger_writes_per_second the lowest ledger.postgresql writes_per_second over the writer counts
                             measured (each write: one proposal plus its audit-chain event).
    memory_mb                memory_mb.rasa: peak resident memory of one Rasa process;
                             memory_mb.actions: of the actions server with its workers, divided by
                             actions_workers (the main process's share counted into each worker).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCHMARKS = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.json"


class CapacityError(ValueError):
    """A load or a figure the model cannot use: the message says which and why."""


@dataclass(frozen=True)
class Figures:
    """Measured throughput of one process of each kind (and of the one ledger database)."""

    rasa_turns_per_second: float
    action_turns_per_second: float
    ledger_writes_per_second: float
    rasa_memory_mb: float | None = None
    action_memory_mb: float | None = None
    measured: str | None = None  # when `make bench` measured them
    action_estimated: bool = False  # action_turns_per_second derived from latency, not measured


@dataclass(frozen=True)
class Load:
    """The peak to plan for."""

    conversations: int  # concurrent conversations
    think_seconds: float  # seconds between one customer's messages
    case_share: float = 0.5  # share of turns that are case turns (reach actions + ledger)
    turns_per_case: float = 2.0  # case turns per case (the load bench: open the case, pick)
    proposals_per_case: float = 1.0
    writes_per_proposal: float = 2.0  # the proposal, then the customer's pick or the decision


@dataclass(frozen=True)
class Plan:
    turns_per_second: float
    case_turns_per_second: float
    ledger_writes_per_second: float
    rasa_processes: int
    action_workers: int
    ledger_utilisation: float  # of the measured ledger capacity
    ledger_within_target: bool
    target: float
    rasa_memory_mb: float | None
    action_memory_mb: float | None


def _real(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise CapacityError(f"{name} must be a number, got {value!r}")
    return float(value)


def _positive(name: str, value: object) -> float:
    number = _real(name, value)
    if number <= 0:
        raise CapacityError(f"{name} must be above zero, got {value!r}")
    return number


def _count(rate: float, per_process: float, target: float) -> int:
    """Processes for `rate` at `target` utilisation; none for no load, else at least one."""
    if rate <= 0:
        return 0
    return max(1, math.ceil(rate / (per_process * target) - 1e-9))


def plan(load: Load, figures: Figures, target: float = 0.6) -> Plan:
    """Processes needed to carry `load` with every process at most `target` busy."""
    conversations = load.conversations
    if isinstance(conversations, bool) or not isinstance(conversations, int) or conversations <= 0:
        raise CapacityError(f"conversations must be a whole number above zero, got {conversations!r}")
    think = _positive("think_seconds", load.think_seconds)
    case_share = _real("case_share", load.case_share)
    if not 0 <= case_share <= 1:
        raise CapacityError(f"case_share is a share of turns, between 0 and 1, got {load.case_share!r}")
    turns_per_case = _positive("turns_per_case", load.turns_per_case)
    proposals = _real("proposals_per_case", load.proposals_per_case)
    if proposals < 0:
        raise CapacityError(f"proposals_per_case must be zero or more, got {load.proposals_per_case!r}")
    writes_per_proposal = _positive("writes_per_proposal", load.writes_per_proposal)
    target = _real("target utilisation", target)
    if not 0 < target <= 1:
        raise CapacityError(f"target utilisation must be above 0 and at most 1, got {target!r}")
    rasa_tps = _positive("rasa_turns_per_second", figures.rasa_turns_per_second)
    action_tps = _positive("action_turns_per_second", figures.action_turns_per_second)
    ledger_wps = _positive("ledger_writes_per_second", figures.ledger_writes_per_second)

    turns = conversations / think
    case_turns = turns * case_share
    writes = case_turns / turns_per_case * proposals * writes_per_proposal
    rasa = _count(turns, rasa_tps, target)
    actions = _count(case_turns, action_tps, target)
    utilisation = writes / ledger_wps
    return Plan(
        turns_per_second=turns,
        case_turns_per_second=case_turns,
        ledger_writes_per_second=writes,
        rasa_processes=rasa,
        action_workers=actions,
        ledger_utilisation=utilisation,
        ledger_within_target=utilisation <= target + 1e-12,
        target=target,
        rasa_memory_mb=None if figures.rasa_memory_mb is None else rasa * figures.rasa_memory_mb,
        action_memory_mb=None if figures.action_memory_mb is None else actions * figures.action_memory_mb,
    )


def _number(data: Mapping[str, Any], *path: str) -> float:
    node: Any = data
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            raise CapacityError(f"benchmarks file has no {'.'.join(path)} (run `make bench`)")
        node = node[key]
    if isinstance(node, bool) or not isinstance(node, int | float):
        raise CapacityError(f"benchmarks file: {'.'.join(path)} is not a number: {node!r}")
    return float(node)


def estimated_action_turns_per_second(data: Mapping[str, Any]) -> float:
    """1000 / (custom-action turn mean - floor turn mean), in ms: see the module docstring."""
    case_ms = _number(data, "latency", "custom_action_turns", "mean_ms")
    extra = case_ms - _number(data, "latency", "floor_turns", "mean_ms")
    if extra <= 0:
        raise CapacityError(
            "benchmarks file: custom-action turns are not slower than floor turns, so no actions-server "
            "cost can be derived from them; pass the measured action turns per second instead"
        )
    return 1000.0 / extra


def _per_worker(memory: float | None, workers: Any) -> float | None:
    """The actions server's memory (its workers summed) per worker; older files measured one process."""
    if memory is None:
        return None
    if isinstance(workers, int) and not isinstance(workers, bool) and workers > 1:
        return memory / workers
    return memory


def figures_from(data: Mapping[str, Any], action_turns_per_second: float | None = None) -> Figures:
    """The figures of a docs/benchmarks.json (the structure bench/run.py writes)."""
    ledger = data.get("ledger", {}).get("postgresql") if isinstance(data.get("ledger"), Mapping) else None
    rates = [row.get("writes_per_second") for row in ledger or [] if isinstance(row, Mapping)]
    rates = [r for r in rates if isinstance(r, int | float) and not isinstance(r, bool) and r > 0]
    if not rates:
        raise CapacityError("benchmarks file has no ledger.postgresql writes_per_second (`make bench` on PostgreSQL)")
    memory = data.get("memory_mb") if isinstance(data.get("memory_mb"), Mapping) else {}
    machine = data.get("machine") if isinstance(data.get("machine"), Mapping) else {}
    served = data.get("actions_server") if isinstance(data.get("actions_server"), Mapping) else {}
    if action_turns_per_second is None and served.get("calls_per_busy_second"):
        action_turns_per_second = _number(data, "actions_server", "calls_per_busy_second")
        estimated = False
    else:
        estimated = action_turns_per_second is None
    if action_turns_per_second is None:
        action = estimated_action_turns_per_second(data)
    else:
        action = _positive("action_turns_per_second", action_turns_per_second)
    return Figures(
        rasa_turns_per_second=_number(data, "load", "turns_per_second"),
        action_turns_per_second=action,
        ledger_writes_per_second=min(rates),
        rasa_memory_mb=memory.get("rasa"),
        action_memory_mb=_per_worker(memory.get("actions"), data.get("actions_workers")),
        measured=machine.get("date"),
        action_estimated=estimated,
    )


def load_figures(path: Path = BENCHMARKS, action_turns_per_second: float | None = None) -> Figures:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CapacityError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except json.JSONDecodeError as exc:
        raise CapacityError(f"{path} is not JSON (line {exc.lineno}): run `make bench` again") from exc
    if not isinstance(data, Mapping):
        raise CapacityError(f"{path} does not hold a JSON object")
    return figures_from(data, action_turns_per_second)


def _gib(mb: float | None) -> str:
    return "" if mb is None else f"  (~{mb / 1024:.1f} GiB resident)"


def table(load: Load, figures: Figures, result: Plan) -> str:
    pct = f"{result.target:.0%}"
    verdict = "within target" if result.ledger_within_target else f"OVER the {pct} target: one writer is the limit"
    action_source = "estimated from latency" if figures.action_estimated else "given"
    lines = [
        f"peak: {load.conversations} conversations, a message every {load.think_seconds:g} s each, "
        f"{load.case_share:.0%} case turns",
        f"figures: docs/benchmarks.json of {figures.measured or 'unknown date'}; target utilisation {pct}",
        "",
        f"{'':24}{'load':>14}{'per process':>16}{'needed':>10}",
        f"{'Rasa servers':24}{result.turns_per_second:>10.1f} t/s{figures.rasa_turns_per_second:>12.1f} t/s"
        f"{result.rasa_processes:>10}{_gib(result.rasa_memory_mb)}",
        f"{'actions workers':24}{result.case_turns_per_second:>10.1f} t/s{figures.action_turns_per_second:>12.1f} t/s"
        f"{result.action_workers:>10}{_gib(result.action_memory_mb)}  [{action_source}]",
        f"{'ledger (one database)':24}{result.ledger_writes_per_second:>10.1f} w/s"
        f"{figures.ledger_writes_per_second:>12.1f} w/s{result.ledger_utilisation:>9.0%}  {verdict}",
    ]
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.capacity", description="Processes needed for a peak load.")
    p.add_argument("--conversations", type=int, required=True, help="concurrent conversations at the peak")
    p.add_argument("--think-seconds", type=float, required=True, help="seconds between one customer's messages")
    p.add_argument("--case-share", type=float, default=0.5, help="share of turns that are case turns (default 0.5)")
    p.add_argument("--turns-per-case", type=float, default=2.0, help="case turns per case (default 2)")
    p.add_argument("--proposals-per-case", type=float, default=1.0, help="proposals per case (default 1)")
    p.add_argument("--writes-per-proposal", type=float, default=2.0, help="ledger writes per proposal (default 2)")
    p.add_argument("--target", type=float, default=0.6, help="target utilisation of every process (default 0.6)")
    p.add_argument("--action-turns-per-second", type=float, default=None, help="measured per actions worker")
    p.add_argument("--benchmarks", type=Path, default=BENCHMARKS, help="default docs/benchmarks.json")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        figures = load_figures(args.benchmarks, args.action_turns_per_second)
        load = Load(
            conversations=args.conversations,
            think_seconds=args.think_seconds,
            case_share=args.case_share,
            turns_per_case=args.turns_per_case,
            proposals_per_case=args.proposals_per_case,
            writes_per_proposal=args.writes_per_proposal,
        )
        result = plan(load, figures, args.target)
    except CapacityError as exc:
        print(f"bench.capacity: {exc}", file=sys.stderr)
        return 2
    print(table(load, figures, result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
