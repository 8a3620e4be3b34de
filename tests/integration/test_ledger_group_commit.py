"""log_proposal's group commit against a real database (SQLite always, PostgreSQL when
MAKEGOOD_TEST_POSTGRES_URL is set): every write stored once, one linear chain, a failed
group leaves nothing behind, two ledgers on one database never fork the chain.

Groups are made deterministic by holding the chain from another connection (SQLite: its
writer lock; PostgreSQL: the chain's advisory lock) while the writers queue up behind it."""

from __future__ import annotations

import contextlib
import threading
import time
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from sqlalchemy import event, func, select, text

from makegood.db import is_sqlite, make_engine, migrate
from makegood.errors import LedgerError, LimitReached, MakegoodError
from makegood.ledger import Ledger, ProposalIn
from makegood.ledger import schema as t
from makegood.ledger.canonical import audit_record, canonical, iso, row_digest, row_snapshot
from makegood.ledger.ledger import CHAIN_LOCK_KEY

pytestmark = pytest.mark.integration

WAIT_S = 60  # bound for "eventually": a broken test fails instead of hanging


def proposal(conversation: str, turn: str = "1", **extra) -> ProposalIn:
    values = dict(
        conversation_id=conversation,
        turn_key=turn,
        situation="damaged_item",
        policy_version="v1",
        tier_required="agent",
        status="pending",
        facts={"order_value": "80.00", "days_since_delivery": 3, "ratio": 0.25},
        options_offered=[{"remedy": "store_credit", "size": "20.00"}],
        option_chosen={"remedy": "store_credit", "size": "20.00"},
    )
    values.update(extra)
    return ProposalIn(**values)


def wait_until(condition, what):
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting until {what}")
        time.sleep(0.002)


def in_threads(calls):
    """Run each call in its own thread; (results, errors) in call order (None where not)."""
    results: list = [None] * len(calls)
    errors: list = [None] * len(calls)

    def run(i, call):
        try:
            results[i] = call()
        except Exception as exc:  # noqa: BLE001 - collected and asserted on
            errors[i] = exc

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for th in threads:
        th.start()
    return threads, results, errors


def join(threads):
    for th in threads:
        th.join(WAIT_S)
        assert not th.is_alive(), "a writer never returned"


@contextlib.contextmanager
def chain_held(engine):
    """Hold the audit chain from another connection until the block ends."""
    with engine.connect() as connection:
        transaction = connection.begin()  # SQLite: BEGIN IMMEDIATE, the writer lock
        if not is_sqlite(connection):
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key, hashtext(current_schema()))"), {"key": CHAIN_LOCK_KEY}
            )
        try:
            yield
        finally:
            transaction.rollback()


def queue_behind_a_held_chain(ledger, engine, calls):
    """Start calls[0] (it blocks on the held chain), queue the others behind it, then let go.
    Returns (results, errors) once every call returned."""
    with chain_held(engine):
        first, r0, e0 = in_threads(calls[:1])
        wait_until(lambda: ledger._appender.pending == 0 and ledger._appender._busy, "the first group started")
        rest, r1, e1 = in_threads(calls[1:])
        wait_until(lambda: ledger._appender.pending == len(calls) - 1, "every other writer is queued")
    join(first + rest)
    return r0 + r1, e0 + e1


def chain_ids(engine):
    with engine.connect() as connection:
        return list(connection.execute(select(t.audit_events.c.id).order_by(t.audit_events.c.id)).scalars())


def count(engine, table):
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(table)).scalar_one()


def test_many_threads_writing_at_once_store_every_write_once_on_one_chain(ledger, engine):
    writers, each = 24, 8

    def writer(w):
        return lambda: [ledger.log_proposal(proposal(f"conv-{w}", str(i))) for i in range(each)]

    threads, results, errors = in_threads([writer(w) for w in range(writers)])
    join(threads)
    assert errors == [None] * writers
    logged = [p for batch in results for p in batch]
    assert len(logged) == writers * each and all(p.created for p in logged)
    assert len({p.public_id for p in logged}) == len(logged)
    for p in logged[:: max(1, len(logged) // 20)]:  # what a caller got back is what is stored
        stored = ledger.get(p.public_id)
        assert (stored.conversation_id, stored.turn_key, stored.facts) == (p.conversation_id, p.turn_key, p.facts)
    assert count(engine, t.proposals) == writers * each
    assert chain_ids(engine) == list(range(1, writers * each + 1))  # no gap, no duplicate
    report = ledger.verify()
    assert report.ok, report.problems
    assert report.checked == writers * each


def test_writers_queued_behind_one_group_are_committed_as_one_group(ledger, engine):
    commits = []
    event.listen(engine, "commit", lambda _conn: commits.append(1))
    calls = [(lambda i=i: ledger.log_proposal(proposal(f"c{i}"))) for i in range(12)]
    results, errors = queue_behind_a_held_chain(ledger, engine, calls)
    assert errors == [None] * 12 and all(p.created for p in results)
    assert len(commits) == 2  # the first writer's group, then the eleven queued behind it
    assert ledger.verify().ok


def test_the_same_turn_twice_in_one_group_is_stored_once(ledger, engine):
    calls = [
        lambda: ledger.log_proposal(proposal("first")),
        lambda: ledger.log_proposal(proposal("same", "7")),
        lambda: ledger.log_proposal(proposal("same", "7")),
        lambda: ledger.log_proposal(proposal("other")),
    ]
    results, errors = queue_behind_a_held_chain(ledger, engine, calls)
    assert errors == [None] * 4
    twice = results[1:3]
    assert twice[0].public_id == twice[1].public_id
    assert sorted(p.created for p in twice) == [False, True]
    assert count(engine, t.proposals) == 3
    report = ledger.verify()
    assert report.ok and report.checked == 3, report.problems


def test_a_database_error_mid_group_fails_every_caller_and_writes_nothing(ledger, engine):
    before = ledger.log_proposal(proposal("before"))
    head = ledger.head()
    broken_inserts = []

    # The database itself refuses the audit insert (a table that does not exist), after the
    # group's proposal rows were already inserted in its transaction.
    def break_audit_insert(_conn, _cursor, statement, parameters, _context, executemany):
        if statement.lstrip().upper().startswith("INSERT INTO AUDIT_EVENTS"):
            broken_inserts.append(len(parameters) if executemany else 1)
            return statement.replace("audit_events", "audit_events_gone", 1), parameters
        return statement, parameters

    event.listen(engine, "before_cursor_execute", break_audit_insert, retval=True)
    calls = [(lambda i=i: ledger.log_proposal(proposal(f"c{i}"))) for i in range(9)]
    try:
        results, errors = queue_behind_a_held_chain(ledger, engine, calls)
    finally:
        event.remove(engine, "before_cursor_execute", break_audit_insert)
    assert results == [None] * 9
    assert all(isinstance(e, MakegoodError) for e in errors), errors
    assert len({id(e) for e in errors}) == 9  # each caller its own exception
    for i, e in enumerate(errors):
        assert str(e).startswith(f"the proposal for conversation 'c{i}' turn '1' was not stored: the database failed")
    assert 8 in broken_inserts  # the group of eight queued writers failed as one
    assert count(engine, t.proposals) == 1 and ledger.head() == head  # nothing half-written
    after = ledger.log_proposal(proposal("c3"))  # the next group goes through
    assert after.created and ledger.head()[0] == head[0] + 1
    report = ledger.verify()
    assert report.ok and report.checked == 2, report.problems
    assert ledger.get(before.public_id).conversation_id == "before"


def test_a_refused_grant_fails_its_own_caller_and_the_rest_of_the_group_commits(engine):
    def grant(_session, row):
        if row["conversation_id"] == "over-limit":
            raise LimitReached("store credit is capped for this customer", "per_customer")

    ledger = Ledger(engine, on_grant=grant)
    names = ["first", "ok-1", "over-limit", "ok-2", "ok-3"]
    calls = [(lambda n=n: ledger.log_proposal(proposal(n, status="accepted"))) for n in names]
    _results, errors = queue_behind_a_held_chain(ledger, engine, calls)
    refused = names.index("over-limit")
    assert isinstance(errors[refused], LimitReached) and errors[refused].rule == "per_customer"
    assert [e for i, e in enumerate(errors) if i != refused] == [None] * 4
    assert ledger.find("over-limit", "1") is None
    assert sorted(p.conversation_id for p in ledger.list(limit=10)) == sorted(n for n in names if n != "over-limit")
    report = ledger.verify()
    assert report.ok and report.checked == 4, report.problems


def test_two_ledgers_on_one_database_writing_at_once_keep_one_chain(backend_url):
    """Two engines, two ledgers, as two processes would have: each its own group commit,
    the chain lock between them."""
    engines = [make_engine(backend_url) for _ in range(2)]
    migrate(engines[0])
    ledgers = [Ledger(e) for e in engines]
    try:
        writers, each = 8, 10

        def writer(k, w):
            return lambda: [ledgers[k].log_proposal(proposal(f"l{k}-w{w}", str(i))) for i in range(each)]

        calls = [writer(k, w) for w in range(writers) for k in (0, 1)]
        threads, _results, errors = in_threads(calls)
        join(threads)
        assert errors == [None] * len(calls)
        total = 2 * writers * each
        assert count(engines[0], t.proposals) == total
        assert chain_ids(engines[1]) == list(range(1, total + 1))
        for ledger in ledgers:
            report = ledger.verify()
            assert report.ok and report.checked == total, report.problems
    finally:
        for ledger in ledgers:
            ledger.dispose()


def test_dispose_waits_for_the_writes_already_handed_in(ledger, engine):
    calls = [(lambda i=i: ledger.log_proposal(proposal(f"c{i}"))) for i in range(6)]
    with chain_held(engine):
        threads, results, errors = in_threads(calls[:1])
        wait_until(lambda: ledger._appender._busy, "the first group started")
        more, r1, e1 = in_threads(calls[1:])
        wait_until(lambda: ledger._appender.pending == 5, "the other writers are queued")
        disposer, _, dispose_errors = in_threads([ledger.dispose])
        time.sleep(0.05)  # not a timing assertion: only gives dispose the chance to return too early
        assert disposer[0].is_alive(), "dispose returned while writes were still pending"
    join(threads + more + disposer)
    assert dispose_errors == [None]
    assert errors + e1 == [None] * 6
    assert all(p.created for p in results + r1)
    assert count(engine, t.proposals) == 6 and ledger.verify().ok


def test_dispose_that_cannot_wait_fails_the_queued_writes_and_loses_none(ledger, engine):
    calls = [(lambda i=i: ledger.log_proposal(proposal(f"c{i}"))) for i in range(6)]
    with chain_held(engine):
        threads, results, errors = in_threads(calls[:1])
        wait_until(lambda: ledger._appender._busy, "the first group started")
        more, r1, e1 = in_threads(calls[1:])
        wait_until(lambda: ledger._appender.pending == 5, "the other writers are queued")
        ledger.dispose(timeout=0)
    join(threads + more)
    assert errors == [None] and results[0].created  # the group in flight committed
    assert r1 == [None] * 5 and all(isinstance(e, LedgerError) for e in e1)
    assert all("was not stored: the ledger was shut down before this write was started" in str(e) for e in e1)
    assert count(engine, t.proposals) == 1 and ledger.verify().ok
    assert ledger.log_proposal(proposal("c1")).created  # a disposed ledger still works (the engine reconnects)


def test_audit_record_spells_the_payload_and_digest_exactly_as_canonical_does():
    at = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=timezone.utc)
    row = {
        "id": 7,
        "public_id": "P-ABC234",
        "facts": {"b": [1, 2.5, None, True], "a": {"é": "ünï", "amount": "12.30"}},
        "option_chosen": None,
        "size": Decimal("45.00"),
        "created_at": at,
    }
    change = {"status": ["offered", "accepted"], "version": 2}
    payload, digest = audit_record(at, change, "proposals", row)
    snapshot = row_snapshot(row)
    assert payload == canonical({"at": iso(at), "change": change, "row": snapshot, "table": "proposals"})
    assert digest == row_digest(snapshot)
    assert audit_record(at, None, "reviews", row)[0] == canonical(
        {"at": iso(at), "change": {}, "row": snapshot, "table": "reviews"}
    )
