"""`make bench`: detection quality (four models, two test sets), the conversation pass rate,
speed and scale, measured in one run on this machine. Writes docs/benchmarks.md,
docs/benchmarks.json, docs/nlu-results.md, docs/nlu-results.json and docs/charts/*.png
(the conversation set's own test writes docs/conversation-results.md and .json).

    python -m bench.run            # the full run (under 30 minutes on 2 cores)
    python -m bench.run --smoke    # a tiny run of every phase, used by the test suite: it never
                                   # trains (DIET only from the models/bench/ cache), samples the
                                   # NLU sets, does not run the conversation set, writes to a temp dir
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")


def say(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def machine() -> dict:
    mem_kb = (
        next(
            (
                int(line.split()[1])
                for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal:")
            ),
            0,
        )
        if Path("/proc/meminfo").exists()
        else 0
    )
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "arch": platform.machine(),
        "python": platform.python_version(),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def measure_training(out_dir: Path) -> dict:
    """Train the same model from scratch in a temp dir (no cache) and time it."""
    started = time.perf_counter()
    # A cache directory of its own: Rasa would otherwise reuse trained components from .rasa/.
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RASA_CACHE_DIRECTORY": str(out_dir / "cache")}
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "rasa"),
            "train",
            "--domain",
            "rasa_project/domain",
            "--config",
            "rasa_project/config.yml",
            "--data",
            "data",
            "--out",
            str(out_dir),
            "--fixed-model-name",
            "bench",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    return {
        "seconds": round(seconds, 1),
        "ok": result.returncode == 0,
        "error": None if result.returncode == 0 else result.stderr[-2000:],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--smoke", action="store_true", help="tiny sizes, no training, no conversation set, no files in docs/"
    )
    parser.add_argument("--out", help="where the reports and charts go (default: docs/; a temp dir with --smoke)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))

    from bench import conversations, core, load, quality, report
    from tests.support.servers import MODEL, Servers, peak_memory_mb

    out = (
        Path(args.out)
        if args.out
        else (Path(tempfile.mkdtemp(prefix="makegood-bench-out-")) if args.smoke else ROOT / "docs")
    )
    sizes = (
        {
            "latency_conversations": 4,
            "floor_turns": 4,
            "load_conversations": 6,
            "load_concurrency": 3,
            "scaling": [1, 3],
            "ledger_writes": 20,
            "engine_seconds": 0.3,
            "saturation_turns": 6,
            "peak_conversations": 4,
            "peak_think_seconds": 0.5,
        }
        if args.smoke
        else {
            "latency_conversations": 60,
            "floor_turns": 120,
            "load_conversations": 200,
            "load_concurrency": 50,
            "scaling": [1, 10, 50, 100],
            # Enough writes for a steady state: with 100 writers, 200 writes were two groups and
            # measured thread start-up more than the ledger.
            "ledger_writes": 2000,
            "engine_seconds": 3.0,
            "saturation_turns": 300,
            "peak_conversations": 100,
            "peak_think_seconds": 5.0,
        }
    )
    results: dict = {"machine": machine(), "smoke": args.smoke, "sizes": sizes}
    total = time.perf_counter()

    say("1/11 core throughput: policy engine and ledger writes")
    results["engine"] = core.engine_throughput(sizes["engine_seconds"])
    results["ledger"] = {
        "sqlite": [core.ledger_throughput(core.sqlite_url(), w, sizes["ledger_writes"] // w) for w in sizes["scaling"]]
    }
    pg = core.postgres_url()
    results["ledger"]["postgresql"] = (
        [core.ledger_throughput(pg, w, sizes["ledger_writes"] // w) for w in sizes["scaling"]] if pg else None
    )

    say(
        "2/11 detection quality: " + ", ".join(quality.MODELS.values()) + "; on the independent set and the "
        "older held-out set" + (" (samples of each: smoke run)" if args.smoke else "")
    )
    results["quality"] = quality.run(MODEL, smoke=args.smoke, say=say)

    say("3/11 starting the actions server, the Rasa server and the desk")
    work = Path(tempfile.mkdtemp(prefix="makegood-bench-"))
    servers = Servers(
        workdir=work,
        database_url=f"sqlite:///{work / 'bench.db'}",
        desk=(ROOT / "src" / "makegood" / "desk" / "__main__.py").exists(),
    )
    servers.start()
    try:
        rasa = servers.urls["rasa"]
        say("4/11 bot turn latency vs the framework floor (turns with no custom action)")
        # Warm-up, unmeasured: the first turns load lazily built pieces (spaCy in the actions
        # server, the catalog, database connections) that a running service has long since loaded.
        asyncio.run(load.floor_only(rasa, 4))
        load.conversations(rasa, servers.database_url, 3, 1, "warm", identity_secret=servers.identity_secret)
        floor = asyncio.run(load.floor_only(rasa, sizes["floor_turns"]))
        sequential = load.conversations(
            rasa,
            servers.database_url,
            sizes["latency_conversations"],
            1,
            "seq",
            identity_secret=servers.identity_secret,
        )
        results["latency"] = {
            "custom_action_turns": load.summary(sequential.case_turns),
            "floor_turns": load.summary(floor),
            "errors": sequential.errors[:5],
        }

        say("5/11 copilot latency")
        results["copilot"] = report.copilot_latency(servers, 10 if args.smoke else 200)

        say(f"6/11 load: {sizes['load_conversations']} conversations, {sizes['load_concurrency']} at once")
        heavy = load.conversations(
            rasa,
            servers.database_url,
            sizes["load_conversations"],
            sizes["load_concurrency"],
            "load",
            identity_secret=servers.identity_secret,
        )
        results["actions_server"] = report.actions_service_time(servers)
        ledger = servers_ledger(servers)
        logged = accepted_in(ledger, heavy.senders)
        results["load"] = {
            "conversations": len(heavy.senders),
            "turns": len(heavy.case_turns),
            "seconds": round(heavy.seconds, 1),
            "turns_per_second": round(len(heavy.case_turns) / heavy.seconds, 1),
            **load.summary(heavy.case_turns),
            "errors": len(heavy.errors),
            "first_errors": heavy.errors[:5],
            "accepted_proposals_in_ledger": logged,
            "expected_proposals": len(heavy.senders),
        }

        say("7/11 how latency grows with concurrent conversations")
        results["scaling"] = scaling(rasa, servers.database_url, servers.identity_secret, sizes, args.smoke)
        say(f"8/11 saturation: template turns, {sizes['load_concurrency']} at once (case turns: 6/11)")
        saturated = load.floor_concurrent(rasa, sizes["saturation_turns"], sizes["load_concurrency"])
        results["saturation"] = {
            "concurrency": sizes["load_concurrency"],
            "floor_turns_per_second": round(len(saturated.floor_turns) / saturated.seconds, 1),
            "floor": load.summary(saturated.floor_turns),
            "case_turns_per_second": results["load"]["turns_per_second"],
            "errors": len(saturated.errors),
        }
        say(
            f"9/11 peak: {sizes['peak_conversations']} customers at once, {sizes['peak_think_seconds']} s between "
            "each one's messages (open loop)"
        )
        results["peak"] = peak(
            rasa,
            servers.database_url,
            servers.identity_secret,
            ledger,
            sizes["peak_conversations"],
            sizes["peak_think_seconds"],
        )
        results["memory_mb"] = {name: peak_memory_mb(proc.pid) for name, proc in servers.procs.items()}
        # memory_mb.actions is the actions server with its workers (bench/capacity.py divides it).
        results["actions_workers"] = int(servers.env().get("MAKEGOOD_ACTIONS_WORKERS") or 1)
        ledger.dispose()
    finally:
        servers.stop()
        shutil.rmtree(work, ignore_errors=True)

    if args.smoke:  # two more Rasa processes to load: the cluster e2e tests cover the topology in make test
        say("10/11 the cluster topology: not run in a smoke run")
        results["cluster"] = {"skipped": "not run in a smoke run"}
    else:
        say(
            "10/11 the same load on the cluster topology (two Rasa processes behind nginx; PostgreSQL, Redis, RabbitMQ)"
        )
        results["cluster"] = on_cluster(sizes, say)

    if args.smoke:
        say("11/11 the independent conversation set: not run in a smoke run (reading the last figure on file)")
        results["conversations"] = conversations.last_on_file()
    else:
        say("11/11 the independent conversation set, end to end (its test starts its own servers; a few minutes)")
        results["conversations"] = conversations.run()
        conv = results["conversations"]
        say(
            f"  {conv.get('passed', '?')} of {conv.get('checks', '?')} checks passed (exit {conv['returncode']}, "
            f"{conv['seconds']:.0f} s)"
        )

    if not args.smoke:
        say("training time: a full `rasa train` from scratch")
        train_dir = Path(tempfile.mkdtemp(prefix="makegood-bench-train-"))
        results["training"] = measure_training(train_dir)
        shutil.rmtree(train_dir, ignore_errors=True)
    results["bench_seconds"] = round(time.perf_counter() - total, 1)

    out.mkdir(parents=True, exist_ok=True)
    report.write(results, out)
    say(f"done in {results['bench_seconds']:.0f}s: {out / 'benchmarks.md'}")
    problems = report.problems(results)
    for p in problems:
        say(f"problem: {p}")
    return 1 if problems else 0


def scaling(url: str, database_url: str, secret: str, sizes: dict, smoke: bool) -> list[dict]:
    """Case conversations at each concurrency of sizes["scaling"] (twice as many conversations)."""
    from bench import load

    rows = []
    for n in sizes["scaling"]:
        count = n if smoke else 2 * n
        r = load.conversations(url, database_url, count, n, f"scale{n}-", identity_secret=secret)
        rows.append(
            {
                "concurrency": n,
                **load.summary(r.case_turns),
                "errors": len(r.errors),
                "first_errors": r.errors[:5],
                "turns_per_second": round(len(r.case_turns) / r.seconds, 1),
            }
        )
    return rows


def peak(url: str, database_url: str, secret: str, ledger, count: int, think_seconds: float) -> dict:
    from bench import load

    r = load.open_loop(url, database_url, count, think_seconds, identity_secret=secret)
    logged = accepted_in(ledger, r.senders)
    turns = r.case_turns + r.floor_turns
    return {
        "conversations": count,
        "think_seconds": think_seconds,
        "offered_turns_per_second": round(count / think_seconds, 1),
        "seconds": round(r.seconds, 1),
        "all_turns": load.summary(turns),
        "case_turns": load.summary(r.case_turns),
        "errors": len(r.errors),
        "first_errors": r.errors[:5],
        "accepted_proposals_in_ledger": logged,
        "expected_proposals": count,
    }


def cluster_figures(topology, sizes: dict, smoke: bool = False) -> dict:
    """On a running cluster topology (tests.support.cluster.Topology): the same warm-up, scaling
    sweep and peak as on the embedded default, every turn through nginx."""
    from bench import load
    from tests.support.servers import peak_memory_mb

    lb, db, secret = topology.lb, topology.database_url, topology.servers.identity_secret
    asyncio.run(load.floor_only(lb, 4))  # warm-up, unmeasured (as on the embedded default)
    load.conversations(lb, db, 3, 1, "cwarm", identity_secret=secret)
    rows = scaling(lb, db, secret, sizes, smoke)
    ledger = servers_ledger(topology.servers)
    try:
        at_peak = peak(lb, db, secret, ledger, sizes["peak_conversations"], sizes["peak_think_seconds"])
    finally:
        ledger.dispose()
    rasa = [name for name in topology.servers.procs if name.startswith("rasa")]
    memory = {name: peak_memory_mb(proc.pid) for name, proc in topology.servers.procs.items()}
    return {"rasa_processes": len(rasa), "scaling": rows, "peak": at_peak, "memory_mb": memory}


def on_cluster(sizes: dict, say) -> dict:
    """The scaling sweep and the peak again, through nginx in front of two Rasa processes on the
    production stores (tests.support.cluster starts it the way `make cluster` does). Where a
    service is missing: {"skipped": why}."""
    from tests.support import cluster
    from tests.support.servers import StartError

    work = Path(tempfile.mkdtemp(prefix="makegood-bench-cluster-"))
    try:
        with cluster.running(work, redis_db=8, label="bench") as topology:
            return cluster_figures(topology, sizes)
    except cluster.Unavailable as missing:
        say(f"  cluster skipped: {missing}")
        return {"skipped": str(missing)}
    except StartError as exc:
        return {"skipped": f"the cluster did not start: {exc}"[:2000], "failed": True}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def accepted_in(ledger, senders: list[str]) -> int:
    """Accepted proposals the ledger holds for these conversations (one each is expected)."""
    return sum(1 for s in senders for p in ledger.list(conversation_id=s, limit=10) if p.status == "accepted")


def servers_ledger(servers):
    from makegood.ledger import Ledger

    return Ledger.from_url(servers.database_url, migrate=False)


if __name__ == "__main__":
    sys.exit(main())
