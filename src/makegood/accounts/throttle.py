"""Sign-in throttling: the arithmetic, kept pure (the AccountStore keeps the state in the database).

Every failed sign-in counts against two keys: the account ("account:alice", also for names
that do not exist, so a lockout does not reveal which names are real) and the address it
came from ("address:203.0.113.7"; an IPv6 address counts by its /64, which one client
usually owns whole). When a key has `threshold` failures and none is older than `window`
after the previous one (or after the end of the last lockout), it is locked for
`base_lock`, doubling with each further failure, at most `max_lock`. While a key is locked
every sign-in through it is refused without looking at the password. A successful sign-in
clears the account's key (not the address's: one working account must not buy an address
more guesses at others). Defaults: 5 failures per account, 20 per address (an office behind
one NAT), within 15 minutes; 1 minute, then 2, 4, ... up to 1 hour.
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

ACCOUNT = "account"
ADDRESS = "address"


@dataclass(frozen=True)
class ThrottlePolicy:
    account_threshold: int = 5
    address_threshold: int = 20
    window: timedelta = timedelta(minutes=15)
    base_lock: timedelta = timedelta(minutes=1)
    max_lock: timedelta = timedelta(hours=1)

    def threshold(self, key: str) -> int:
        return self.address_threshold if key.startswith(ADDRESS + ":") else self.account_threshold

    def lock_for(self, key: str, failures: int) -> timedelta | None:
        """How long `failures` consecutive failures lock `key`; None below the threshold."""
        over = failures - self.threshold(key)
        if over < 0:
            return None
        seconds = self.base_lock.total_seconds() * (2 ** min(over, 32))
        return min(timedelta(seconds=seconds), self.max_lock)


@dataclass(frozen=True)
class KeyState:
    failures: int
    last_failure_at: datetime | None
    locked_until: datetime | None


def after_failure(policy: ThrottlePolicy, key: str, state: KeyState | None, now: datetime) -> KeyState:
    """The key's state after one more failure at `now`."""
    failures = 0
    if state is not None:
        moments = [t for t in (state.last_failure_at, state.locked_until) if t is not None]
        if moments and now - max(moments) <= policy.window:
            failures = state.failures  # still in the same run of failures
    failures += 1
    lock = policy.lock_for(key, failures)
    return KeyState(failures=failures, last_failure_at=now, locked_until=None if lock is None else now + lock)


def retry_after(locked_until: datetime | None, now: datetime) -> int:
    """Whole seconds until `locked_until` (0 when not locked): the Retry-After value."""
    if locked_until is None or locked_until <= now:
        return 0
    return max(1, math.ceil((locked_until - now).total_seconds()))


def address_key(address: str | None) -> str | None:
    """The throttle key of a client address; None when there is none. IPv6: its /64."""
    text = str(address or "").strip()
    if not text:
        return None
    try:
        ip = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return f"{ADDRESS}:{text[:64]}"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:  # ::ffff:198.51.100.7 is 198.51.100.7
            return f"{ADDRESS}:{ip.ipv4_mapped}"
        return f"{ADDRESS}:{ipaddress.ip_network(f'{ip}/64', strict=False)}"
    return f"{ADDRESS}:{ip}"


def account_key(name: str) -> str:
    return f"{ACCOUNT}:{name}"
