"""In-process throughput of the engine and the ledger."""

from __future__ import annotations

import os
import tempfile
import threading
import time
import uuid
from pathlib import Path

from makegood.ledger import Ledger, ProposalIn
from makegood.policy import Case, Tier, check, load_catalog, options

ROOT = Path(__file__).resolve().parents[1]
CASES = [
    ("damaged_item", {"order_value": "129", "days_since_delivery": 3, "membership": "gold"}),
    ("late_delivery", {"order_value": "89.99", "days_late": 5}),
    ("fee_dispute", {"disputed_amount": "35"}),
    ("late_return", {"order_value": "64.50", "days_past_window": 15, "tenure_days": 1500}),
    ("service_outage", {"outage_hours": 30, "monthly_fee": "29.99"}),
]


def engine_throughput(seconds: float = 3.0) -> dict:
    catalog = load_catalog(ROOT / "policy")
    cases = [Case.build(catalog, s, f) for s, f in CASES]
    tiers = Tier.ordered()
    results = {}
    for name, call in (
        ("options", lambda c, t: options(catalog, c, t)),
        (
            "check",
            lambda c, t: check(catalog, c, "store_credit" if c.situation != "fee_dispute" else "fee_waiver", None, t),
        ),
    ):
        n, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            for case in cases:
                call(case, tiers[n % len(tiers)])
                n += 1
        results[f"{name}_per_second"] = round(n / (time.perf_counter() - started))
    return results


def _proposal(conversation: str, i: int) -> ProposalIn:
    return ProposalIn(
        conversation_id=conversation,
        turn_key=f"t{i}",
        situation="damaged_item",
        policy_version="bench",
        tier_required="self_service",
        channel="bench",
        facts={"order_value": "129.00"},
        options_offered=[{"remedy": "store_credit", "size": "30.00"}],
    )


def ledger_throughput(url: str, writers: int, per_writer: int) -> dict:
    """`writers` threads each log `per_writer` proposals (each one transaction with its audit
    event); returns writes/second and checks every write is there and the chain verifies."""
    ledger = Ledger.from_url(url)
    run_id = uuid.uuid4().hex[:8]
    errors: list[str] = []

    def work(w: int) -> None:
        for i in range(per_writer):
            try:
                ledger.log_proposal(_proposal(f"bench-{run_id}-{w}", i))
            except Exception as exc:  # noqa: BLE001 - counted, reported
                errors.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=work, args=(w,)) for w in range(writers)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    stored = sum(len(ledger.list(conversation_id=f"bench-{run_id}-{w}", limit=per_writer + 1)) for w in range(writers))
    report = ledger.verify()
    ledger.dispose()
    return {
        "writers": writers,
        "writes": writers * per_writer,
        "stored": stored,
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "writes_per_second": round(writers * per_writer / elapsed, 1),
        "chain_ok": report.ok,
    }


def sqlite_url() -> str:
    path = Path(tempfile.mkdtemp(prefix="makegood-bench-")) / "ledger.db"
    return f"sqlite:///{path}"


def postgres_url() -> str | None:
    url = os.environ.get("MAKEGOOD_TEST_POSTGRES_URL")
    if not url:
        return None
    try:
        from sqlalchemy import create_engine, text

        engine = create_engine(url, future=True, connect_args={"connect_timeout": 3})
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        with engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        engine.dispose()
        joiner = "&" if "?" in url else "?"
        return f"{url}{joiner}options=-csearch_path%3D{schema}"
    except Exception:  # noqa: BLE001 - no PostgreSQL: that figure is reported as skipped
        return None
