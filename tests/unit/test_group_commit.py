"""GroupCommit (makegood.ledger.appender) with a fake commit: who commits what, in which
groups, and what every caller gets back when a group fails. No database, no timings: a
gate holds the first group open until the others are queued, so the groups are known."""

from __future__ import annotations

import threading
import time

import pytest

from makegood.ledger.appender import GroupCommit

pytestmark = pytest.mark.unit

WAIT_S = 30  # a generous bound for "eventually", so a broken test fails instead of hanging


class Boom(Exception):
    pass


class FakeStore:
    """commit(items) records each group; the first group waits for `gate` when it is set up."""

    def __init__(self, fail_when=None):
        self.groups: list[list] = []
        self.gate: threading.Event | None = None
        self.fail_when = fail_when
        self.lock = threading.Lock()

    def commit(self, items):
        if self.gate is not None and not self.groups:
            self.groups.append(list(items))
            assert self.gate.wait(WAIT_S)
        else:
            with self.lock:
                self.groups.append(list(items))
        if self.fail_when is not None and self.fail_when(items):
            raise Boom(f"the database failed on a group of {len(items)}")
        return [("stored", item) for item in items]


def failure(item, exc):
    error = RuntimeError(f"{item} not stored: {exc}")
    error.__cause__ = exc
    return error


def wait_until(condition, what):
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting until {what}")
        time.sleep(0.001)


def submit_all(appender, items):
    """Submit each item from its own thread; returns (threads, outcomes by item)."""
    outcomes: dict = {}

    def run(item):
        try:
            outcomes[item] = appender.submit(item)
        except BaseException as exc:  # noqa: BLE001 - collected and asserted on
            outcomes[item] = exc

    threads = [threading.Thread(target=run, args=(item,)) for item in items]
    for th in threads:
        th.start()
    return threads, outcomes


def join(threads):
    for th in threads:
        th.join(WAIT_S)
        assert not th.is_alive(), "a caller never got its outcome"


def held_first_group(store, appender, later):
    """Start item 'first' (its group held open by the gate), then queue `later` behind it."""
    store.gate = threading.Event()
    first, outcomes = submit_all(appender, ["first"])
    wait_until(lambda: store.groups, "the first group started")
    rest, more = submit_all(appender, later)
    wait_until(lambda: appender.pending == len(later), "every later write is queued")
    return first + rest, outcomes, more


def test_a_lone_caller_commits_its_own_write_in_its_own_thread():
    seen = []
    appender = GroupCommit(lambda items: seen.append(threading.current_thread()) or list(items), failure)
    assert appender.submit("a") == "a"
    assert seen == [threading.current_thread()]


def test_writes_queued_behind_a_group_are_committed_together_in_the_order_they_came():
    store = FakeStore()
    appender = GroupCommit(store.commit, failure)
    later = [f"w{i}" for i in range(20)]
    threads, first, rest = held_first_group(store, appender, later)
    store.gate.set()
    join(threads)
    assert first == {"first": ("stored", "first")}
    assert rest == {item: ("stored", item) for item in later}
    assert store.groups[0] == ["first"]
    assert len(store.groups) == 2 and sorted(store.groups[1]) == sorted(later)


def test_a_group_never_exceeds_max_group():
    store = FakeStore()
    appender = GroupCommit(store.commit, failure, max_group=4)
    later = [f"w{i}" for i in range(10)]
    threads, _first, rest = held_first_group(store, appender, later)
    store.gate.set()
    join(threads)
    assert [len(g) for g in store.groups] == [1, 4, 4, 2]
    assert all(rest[item] == ("stored", item) for item in later)


def test_a_failed_group_fails_every_caller_with_its_own_error_and_the_next_group_commits():
    store = FakeStore(fail_when=lambda items: len(items) > 1)
    appender = GroupCommit(store.commit, failure)
    later = [f"w{i}" for i in range(8)]
    threads, first, rest = held_first_group(store, appender, later)
    store.gate.set()
    join(threads)
    assert first == {"first": ("stored", "first")}
    errors = [rest[item] for item in later]
    assert all(isinstance(e, RuntimeError) for e in errors)
    assert len({id(e) for e in errors}) == len(errors), "callers must not share one exception object"
    assert [str(rest[item]) for item in later] == [
        f"{item} not stored: the database failed on a group of {len(later)}" for item in later
    ]
    assert all(isinstance(e.__cause__, Boom) for e in errors)
    assert appender.submit("after") == ("stored", "after")  # the appender did not die with the group


def test_a_commit_that_returns_the_wrong_number_of_outcomes_fails_the_group_instead_of_guessing():
    appender = GroupCommit(lambda items: [], failure)
    with pytest.raises(RuntimeError, match="group commit returned 0 outcomes for 1 writes"):
        appender.submit("a")


def test_an_exception_outcome_is_raised_in_its_own_callers_thread_only():
    refused = ValueError("limit reached")
    appender = GroupCommit(lambda items: [refused if item == "bad" else item for item in items], failure)
    with pytest.raises(ValueError, match="limit reached"):
        appender.submit("bad")
    assert appender.submit("good") == "good"


def test_flush_waits_for_every_write_handed_in_before_it():
    store = FakeStore()
    appender = GroupCommit(store.commit, failure)
    later = [f"w{i}" for i in range(5)]
    threads, _first, rest = held_first_group(store, appender, later)
    flushed = []
    flusher = threading.Thread(target=lambda: flushed.append(appender.flush(WAIT_S)))
    flusher.start()
    store.gate.set()
    join([*threads, flusher])
    assert flushed == [0]
    assert rest == {item: ("stored", item) for item in later}


def test_flush_that_times_out_fails_the_queued_writes_and_drops_none():
    store = FakeStore()
    appender = GroupCommit(store.commit, failure)
    later = [f"w{i}" for i in range(5)]
    threads, first, rest = held_first_group(store, appender, later)
    assert appender.flush(0.01) == len(later)
    store.gate.set()  # the group in flight was not failed: it commits when it can
    join(threads)
    assert first == {"first": ("stored", "first")}
    assert all(isinstance(rest[item], RuntimeError) for item in later)
    assert all("shut down before this write was started" in str(rest[item]) for item in later)
    assert store.groups == [["first"]]  # the failed ones were never committed
    assert appender.submit("after") == ("stored", "after")
