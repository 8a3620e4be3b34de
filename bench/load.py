"""Conversations over REST against the running servers: latency per turn and under load."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import statistics
import time
import uuid
from dataclasses import dataclass, field

import aiohttp

# A turn that runs custom actions: the opening opens a case, fills the form from the
# message, asks the engine and writes a proposal to the ledger.
CASE_OPENING = "the dinner set from order {order} arrived smashed to pieces"
CASE_PICK = "I'll take the store credit"
# Each measured conversation is another customer with an order like MG-10422: one order may
# be given store credit only once (the cumulative limits), so a load of identical picks on one
# order would measure refusals, not the case flow.
TEMPLATE_ORDER, TEMPLATE_CUSTOMER = "MG-10422", "C-1001"
_next_order = itertools.count(20000)


def prepare_orders(database_url: str, count: int) -> list[str]:
    """`count` new customers, each with one copy of the template order, in the servers' store."""
    from makegood.customers import SqlCustomerStore
    from makegood.db import make_engine

    engine = make_engine(database_url)
    try:
        store = SqlCustomerStore(engine)
        order, customer = store.order(TEMPLATE_ORDER), store.customer(TEMPLATE_CUSTOMER)
        numbers = [next(_next_order) for _ in range(count)]
        customers = [dataclasses.replace(customer, id=f"C-{n}", email=f"bench-{n}@example.com") for n in numbers]
        orders = [dataclasses.replace(order, id=f"MG-{n}", customer_id=f"C-{n}") for n in numbers]
        store.upsert(customers=customers, orders=orders)
        return [o.id for o in orders]
    finally:
        engine.dispose()


# Turns that run no custom action: NLU + dialogue policy + a templated response. This is
# the framework's own floor, on the same server and the same NLU pipeline.
FLOOR_TURNS = [
    "how long do I have to return something I bought?",
    "what are your opening hours?",
    "hello there",
    "are you a bot?",
]


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def summary(ms: list[float]) -> dict:
    return {
        "n": len(ms),
        "p50_ms": round(percentile(ms, 50), 1),
        "p95_ms": round(percentile(ms, 95), 1),
        "p99_ms": round(percentile(ms, 99), 1),
        "mean_ms": round(statistics.fmean(ms), 1) if ms else None,
    }


@dataclass
class Run:
    case_turns: list[float] = field(default_factory=list)
    floor_turns: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    senders: list[str] = field(default_factory=list)
    seconds: float = 0.0


async def _turn(
    session: aiohttp.ClientSession,
    url: str,
    sender: str,
    text: str,
    out: list[float],
    run: Run,
    expect: str = "",
    metadata: dict | None = None,
) -> None:
    started = time.perf_counter()
    try:
        async with session.post(
            f"{url}/webhooks/rest/webhook",
            json={"sender": sender, "message": text, "metadata": metadata or {}},
            timeout=aiohttp.ClientTimeout(total=120),
        ) as response:
            body = await response.json()
            if response.status != 200:
                run.errors.append(f"{sender}: HTTP {response.status}")
                return
            reply = " ".join(m.get("text", "") for m in body)
            if expect and expect not in reply:
                run.errors.append(f"{sender}: expected {expect!r} in reply to {text!r}, got {reply[:300]!r}")
    except Exception as exc:  # noqa: BLE001 - every failure is counted, none is hidden
        run.errors.append(f"{sender}: {type(exc).__name__}: {exc}")
        return
    out.append((time.perf_counter() - started) * 1000)


async def _conversation(session, url: str, run: Run, label: str, with_floor: bool, order: str, metadata: dict) -> None:
    sender = f"bench-{label}-{uuid.uuid4().hex[:8]}"
    run.senders.append(sender)
    if with_floor:
        floor = FLOOR_TURNS[len(run.senders) % len(FLOOR_TURNS)]
        await _turn(session, url, sender, floor, run.floor_turns, run, metadata=metadata)
    opening = CASE_OPENING.format(order=order)
    await _turn(session, url, sender, opening, run.case_turns, run, "Here's what I can do", metadata)
    await _turn(session, url, sender, CASE_PICK, run.case_turns, run, "Done", metadata)


def conversations(
    url: str,
    database_url: str,
    count: int,
    concurrency: int,
    label: str,
    with_floor: bool = False,
    *,
    identity_secret: str | None = None,
) -> Run:
    """`count` case conversations, `concurrency` at once, each a new customer's (prepared first,
    outside the measurement), signed in as that customer the way the website does it."""
    orders = prepare_orders(database_url, count)
    return asyncio.run(_conversations(url, orders, concurrency, label, with_floor, identity_secret))


def _signed_in(order: str, secret: str | None) -> dict:
    if not secret:
        return {}
    from makegood.customers.identity import sign

    return {"customer_token": sign(f"C-{order.removeprefix('MG-')}", secret)}  # prepare_orders' pairing


async def _conversations(
    url: str, orders: list[str], concurrency: int, label: str, with_floor: bool, secret: str | None = None
) -> Run:
    tokens = [_signed_in(order, secret) for order in orders]
    run = Run()
    limit = asyncio.Semaphore(concurrency)
    connector = aiohttp.TCPConnector(limit=concurrency)
    started = time.perf_counter()
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(i: int) -> None:
            async with limit:
                await _conversation(session, url, run, f"{label}{i}", with_floor, orders[i], tokens[i])

        await asyncio.gather(*(one(i) for i in range(len(orders))))
    run.seconds = time.perf_counter() - started
    return run


async def floor_only(url: str, count: int) -> list[float]:
    run = Run()
    async with aiohttp.ClientSession() as session:
        for i in range(count):
            await _turn(
                session,
                url,
                f"bench-floor-{uuid.uuid4().hex[:8]}",
                FLOOR_TURNS[i % len(FLOOR_TURNS)],
                run.floor_turns,
                run,
            )
    return run.floor_turns


def floor_concurrent(url: str, count: int, concurrency: int) -> Run:
    """`count` template turns (no custom action), `concurrency` at once: the server's
    saturation throughput for the framework's own work, to compare case turns with."""
    return asyncio.run(_floor_concurrent(url, count, concurrency))


async def _floor_concurrent(url: str, count: int, concurrency: int) -> Run:
    run = Run()
    limit = asyncio.Semaphore(concurrency)
    started = time.perf_counter()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:

        async def one(i: int) -> None:
            async with limit:
                sender = f"bench-sat-{uuid.uuid4().hex[:8]}"
                await _turn(session, url, sender, FLOOR_TURNS[i % len(FLOOR_TURNS)], run.floor_turns, run)

        await asyncio.gather(*(one(i) for i in range(count)))
    run.seconds = time.perf_counter() - started
    return run


def open_loop(
    url: str, database_url: str, count: int, think_seconds: float, *, identity_secret: str | None = None
) -> Run:
    """A contact center's peak: `count` customers at once, each taking `think_seconds` between
    messages whatever the bot's speed (open loop: a slow reply does not slow the next customer
    down), starting spread over one think time. Each says an ordinary question, opens a case
    and picks an option, so the offered load is about count / think_seconds turns/s."""
    orders = prepare_orders(database_url, count)
    return asyncio.run(_open_loop(url, orders, think_seconds, identity_secret))


async def _open_loop(url: str, orders: list[str], think_seconds: float, secret: str | None) -> Run:
    run = Run()
    started = time.perf_counter()
    connector = aiohttp.TCPConnector(limit=len(orders) + 1)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def customer(i: int, order: str) -> None:
            sender = f"bench-peak{i}-{uuid.uuid4().hex[:8]}"
            run.senders.append(sender)
            metadata = _signed_in(order, secret)
            begin = started + think_seconds * i / len(orders)
            script = [
                (FLOOR_TURNS[i % len(FLOOR_TURNS)], run.floor_turns, ""),
                (CASE_OPENING.format(order=order), run.case_turns, "Here's what I can do"),
                (CASE_PICK, run.case_turns, "Done"),
            ]
            for k, (text, out, expect) in enumerate(script):
                # Open loop: each message is sent at its own time, not after the previous reply.
                await asyncio.sleep(max(0.0, begin + k * think_seconds - time.perf_counter()))
                await _turn(session, url, sender, text, out, run, expect, metadata)

        await asyncio.gather(*(customer(i, order) for i, order in enumerate(orders)))
    run.seconds = time.perf_counter() - started
    return run
