"""Group commit: many threads hand in writes, one at a time commits them together.

`GroupCommit.submit(item)` queues the item and waits. Whoever finds no group in flight
becomes the appender for the next group (leader/follower): it takes everything queued (up
to `max_group` items, oldest first), calls `commit(items)` once, hands every waiting caller
its own outcome, and passes the appender's role to the oldest caller still queued, if any.
So at most one group per GroupCommit is in flight, groups are FIFO, a lone writer commits
its own write in its own thread (no hand-off), and there is no background thread to start,
leak or die silently: whatever goes wrong goes wrong in a caller's thread and is handed to
every caller of that group.

Knows nothing about databases: `commit` returns one outcome per item (a value, or an
exception instance to raise in that caller's thread); if `commit` itself raises, each
caller of the group gets `failure(item, exc)`, its own exception instance (never one
object raised in many threads at once).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

T = TypeVar("T")

_QUEUED, _LEADING, _DONE = "queued", "leading", "done"
MAX_LINGER_S = 0.005
LINGER_STEP_S = 0.0005  # waits while the queue grew during the last step
LINGER_SHARE = 0.5  # of the last group's commit time


class _Waiter:
    __slots__ = ("event", "item", "outcome", "seq", "state")

    def __init__(self, item: Any, seq: int) -> None:
        self.item = item
        self.seq = seq
        self.state = _QUEUED
        self.outcome: Any = None
        self.event = threading.Event()


class GroupCommit(Generic[T]):
    def __init__(
        self,
        commit: Callable[[Sequence[T]], Sequence[Any]],
        failure: Callable[[T, BaseException], BaseException],
        *,
        max_group: int = 500,
    ) -> None:
        self._commit = commit
        self._failure = failure
        self.max_group = max(1, int(max_group))
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)  # a group finished (for flush)
        self._queue: deque[_Waiter] = deque()
        self._busy = False  # a group is in flight or an appender has been named; queue empty when False
        self._arrived = threading.Condition(self._lock)  # an item was queued (for a lingering appender)
        self._lingering = False
        self._linger_target = 1
        self._last_size = 1  # the size of the last group
        self._last_seconds = 0.0  # how long the last group took to commit
        self._seq = 0  # items handed in
        self._finished = 0  # every item with seq <= this has its outcome (groups are FIFO)

    def submit(self, item: T) -> Any:
        """Queue `item`, wait until its group is committed (or failed); its outcome, or raise it."""
        with self._lock:
            self._seq += 1
            waiter = _Waiter(item, self._seq)
            self._queue.append(waiter)
            if self._lingering and len(self._queue) >= self.max_group:  # full: no reason to wait on
                self._arrived.notify()
            if not self._busy:
                self._busy = True
                waiter.state = _LEADING
        if waiter.state != _LEADING:
            try:
                waiter.event.wait()
            except BaseException:  # pragma: no cover - e.g. KeyboardInterrupt while waiting
                self._abandon(waiter)
                raise
        if waiter.state == _LEADING:
            self._lead()
        outcome = waiter.outcome
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def flush(self, timeout: float) -> int:
        """Wait until everything submitted so far has its outcome. What is still queued (not
        started) after `timeout` seconds is failed with `failure(item, TimeoutError(...))`, never dropped;
        a group already in flight is waited for no longer (its callers get its outcome when
        the database answers). Returns how many queued items were failed."""
        with self._changed:
            target = self._seq
            self._changed.wait_for(lambda: self._finished >= target, timeout=max(0.0, timeout))
            if self._finished >= target:
                return 0
            failed: list[_Waiter] = []
            kept: deque[_Waiter] = deque()
            for waiter in self._queue:
                (failed if waiter.seq <= target and waiter.state == _QUEUED else kept).append(waiter)
            self._queue = kept
            for waiter in failed:
                waiter.outcome = self._failure(
                    waiter.item, TimeoutError("the ledger was shut down before this write was started")
                )
                waiter.state = _DONE
        for waiter in failed:
            waiter.event.set()
        return len(failed)

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    def _lead(self) -> None:
        with self._lock:
            self._linger()
            group = [self._queue.popleft() for _ in range(min(len(self._queue), self.max_group))]
            self._last_size = len(group)
        interrupted: BaseException | None = None
        started = time.monotonic()
        try:
            outcomes = list(self._commit([w.item for w in group]))
            if len(outcomes) != len(group):
                raise RuntimeError(f"group commit returned {len(outcomes)} outcomes for {len(group)} writes")
        except Exception as exc:  # noqa: BLE001 - handed to every caller of the group, as its own exception
            outcomes = [self._failure(w.item, exc) for w in group]
        except BaseException as exc:  # noqa: BLE001 - KeyboardInterrupt, SystemExit: fail the group, pass the role on, re-raise
            outcomes = [self._failure(w.item, exc) for w in group]
            interrupted = exc
        self._last_seconds = time.monotonic() - started
        self._hand_over(group, outcomes)
        if interrupted is not None:
            raise interrupted

    def _linger(self) -> None:
        """With the lock held, before taking a group: while other writers are still arriving,
        wait a moment for them (a group of forty costs little more than a group of one).

        It waits while fewer are queued than the last group had (the writers of one group are
        woken together and come back a moment apart: without this the first one back would
        commit alone and groups would alternate between one write and all the others), and
        while the queue is still growing. Never longer than MAX_LINGER_S nor than LINGER_SHARE
        of what the last commit took; a lone writer (one queued, last group of one) never
        waits at all."""
        queued = len(self._queue)
        if queued >= self.max_group or (queued <= 1 and self._last_size <= 1):
            return
        deadline = time.monotonic() + min(MAX_LINGER_S, LINGER_SHARE * self._last_seconds)
        self._linger_target = min(self._last_size, self.max_group)
        self._lingering = True
        try:
            while True:
                before = len(self._queue)
                remaining = deadline - time.monotonic()
                if remaining <= 0 or before >= self.max_group:
                    return
                self._arrived.wait(min(LINGER_STEP_S, remaining))
                grew = len(self._queue) > before
                if not grew and len(self._queue) >= self._linger_target:
                    return
        finally:
            self._lingering = False

    def _hand_over(self, group: Sequence[_Waiter], outcomes: Sequence[Any]) -> None:
        with self._lock:
            for waiter, outcome in zip(group, outcomes, strict=True):
                waiter.outcome = outcome
                waiter.state = _DONE
            if group:
                self._finished = max(self._finished, group[-1].seq)
            successor = self._name_successor()
            self._changed.notify_all()
        for waiter in group:
            waiter.event.set()
        if successor is not None:
            successor.event.set()

    def _name_successor(self) -> _Waiter | None:
        """With the lock held: the oldest queued caller leads the next group, or nobody is busy."""
        if self._queue:
            successor = self._queue[0]
            successor.state = _LEADING
            return successor
        self._busy = False
        self._finished = self._seq
        return None

    def _abandon(self, waiter: _Waiter) -> None:  # pragma: no cover - only on an interrupt while waiting
        successor = None
        with self._lock:
            if waiter.state == _DONE:
                return
            if waiter in self._queue:
                self._queue.remove(waiter)
            if waiter.state == _LEADING:  # it was named appender: name the next one
                successor = self._name_successor()
            waiter.state = _DONE
            waiter.outcome = self._failure(waiter.item, RuntimeError("the caller stopped waiting"))
            self._changed.notify_all()
        if successor is not None:
            successor.event.set()
