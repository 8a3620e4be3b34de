"""Sign-in security in the AccountStore: per-account and per-address throttling with a growing
lockout, kept in the database (so every process agrees), an audit of failures, and the
commands that end access: `users revoke-tokens` (all, or one by id), `users remove`,
`users unlock`, `users signin-failures`. On SQLite and, when configured, PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, inspect, select

from makegood.accounts import AccountError, AccountStore, ThrottlePolicy
from makegood.accounts import schema as t
from makegood.accounts.throttle import address_key, after_failure
from makegood.cli import main
from makegood.db import make_engine, migrate
from makegood.ledger import Ledger, ProposalIn

pytestmark = pytest.mark.integration

FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
HOME = "198.51.100.7"


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def store(engine, clock):
    s = AccountStore(engine, hasher=FAST, now=clock)
    s.add_user("alice", "agent", "alice's password")
    s.add_user("bob", "agent", "bob's password")
    return s


def fail(store, name="alice", address=HOME, times=1):
    result = None
    for _ in range(times):
        result = store.sign_in(name, "wrong password!", address)
    return result


# -- the lockout -------------------------------------------------------------------------------------
def test_five_failures_lock_the_account_even_for_the_right_password(store):
    for n in range(4):
        attempt = fail(store)
        assert not attempt.ok and not attempt.locked, n
    fifth = fail(store)
    assert fifth.locked and fifth.retry_after == 60
    refused = store.sign_in("alice", "alice's password", HOME)
    assert refused.locked and refused.user is None and 0 < refused.retry_after <= 60
    # ... from any address: the account itself is paused
    assert store.sign_in("alice", "alice's password", "203.0.113.99").locked
    # bob is not affected
    assert store.sign_in("bob", "bob's password", "203.0.113.99").ok


def test_the_lockout_ends_and_grows_with_every_further_failure(store, clock):
    fail(store, times=5)
    clock.advance(seconds=61)
    assert not store.sign_in("alice", "alice's password", HOME).locked  # the lock is over
    store.sign_in("bob", "bob's password", HOME)  # (a success elsewhere changes nothing for alice)


def test_growth_is_exponential_and_capped(store, clock):
    waits = []
    for _ in range(12):
        attempt = fail(store, address=None)
        if attempt.locked:
            waits.append(attempt.retry_after)
            clock.advance(seconds=attempt.retry_after + 1)
    assert waits[:4] == [60, 120, 240, 480]
    assert max(waits) == 3600 and waits[-1] == 3600


def test_a_successful_sign_in_resets_the_accounts_counter(store, clock):
    fail(store, times=4)
    assert store.sign_in("alice", "alice's password", HOME).ok
    assert not any(fail(store, times=1).locked for _ in range(4))  # four more: still not locked
    assert fail(store).locked  # the fifth in a row is


def test_failures_spread_out_beyond_the_window_do_not_add_up(store, clock):
    for _ in range(10):
        assert not fail(store).locked
        clock.advance(minutes=16)


def test_per_address_throttling_catches_spraying_many_names(store):
    # 20 failures from one address, each against a different name (never 5 against one)
    for n in range(19):
        assert not store.sign_in(f"user{n:02d}", "guess-guess", HOME).locked
    assert store.sign_in("user19", "guess-guess", HOME).locked
    # now even a real account with the right password is refused from that address ...
    refused = store.sign_in("bob", "bob's password", HOME)
    assert refused.locked and refused.retry_after > 0
    # ... but not from another one
    assert store.sign_in("bob", "bob's password", "198.51.100.8").ok


def test_ipv6_addresses_count_by_their_64(store):
    assert address_key("2001:db8:1:2::1") == address_key("2001:db8:1:2:ffff::9") != address_key("2001:db8:1:3::1")
    assert address_key("::ffff:198.51.100.7") == address_key(HOME) == f"address:{HOME}"
    assert address_key("") is None and address_key(None) is None


def test_unknown_names_lock_like_real_ones(store):
    """A lockout must not tell an attacker which names exist."""
    for _ in range(4):
        assert not fail(store, "nobody").locked
    assert fail(store, "nobody").locked


def test_inactive_accounts_fail_and_are_audited_as_such(store):
    store.set_active("bob", False)
    assert not store.sign_in("bob", "bob's password", HOME).ok
    [failure] = store.signin_failures("bob")
    assert failure.reason == "inactive"


def test_failures_are_audited_with_who_where_and_when(store, clock, engine):
    fail(store, "alice", HOME)
    clock.advance(seconds=5)
    fail(store, "Nobody", "203.0.113.5")
    store.sign_in("not a valid name!", "pw-pw-pw-pw", "203.0.113.6")
    store.sign_in("alice", "alice's password", HOME)  # successes are not failures
    newest_first = store.signin_failures()
    assert [(f.user_name, f.address, f.reason) for f in newest_first] == [
        ("-", "203.0.113.6", "unknown"),
        ("nobody", "203.0.113.5", "unknown"),
        ("alice", HOME, "password"),
    ]
    assert newest_first[-1].created_at == T0 and newest_first[1].created_at == T0 + timedelta(seconds=5)
    assert [f.user_name for f in store.signin_failures("alice")] == ["alice"]
    with engine.connect() as c:  # in the database, where every process and the operator see it
        assert c.execute(select(func.count()).select_from(t.signin_failures)).scalar() == 3


def test_the_throttle_is_shared_across_processes(store, backend_url, clock):
    """Two stores on two engines (two desk processes) count against the same rows."""
    other_engine = make_engine(backend_url)
    try:
        other = AccountStore(other_engine, hasher=FAST, now=clock)
        fail(store, times=3)
        fail(other, times=2)
        assert store.sign_in("alice", "alice's password", HOME).locked
        assert other.sign_in("alice", "alice's password", HOME).locked
    finally:
        other_engine.dispose()


def test_the_throttle_holds_in_a_separate_os_process(tmp_path):
    url = f"sqlite:///{tmp_path / 'procs.db'}"
    engine = make_engine(url)
    migrate(engine)
    AccountStore(engine, hasher=FAST).add_user("carol", "agent", "carol's password")
    script = (
        "import sys\n"
        "from argon2 import PasswordHasher\n"
        "from makegood.accounts import AccountStore\n"
        "from makegood.db import make_engine\n"
        "s = AccountStore(make_engine(sys.argv[1]), hasher=PasswordHasher(time_cost=1, memory_cost=1024, "
        "parallelism=1))\n"
        "print([s.sign_in('carol', 'nope-nope', '192.0.2.1').locked for _ in range(5)])\n"
    )
    out = subprocess.run([sys.executable, "-c", script, url], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[False, False, False, False, True]", out.stderr
    try:
        assert AccountStore(engine, hasher=FAST).sign_in("carol", "carol's password", "192.0.2.200").locked
    finally:
        engine.dispose()


def test_the_policy_is_configurable(engine, clock):
    strict = AccountStore(
        engine,
        hasher=FAST,
        now=clock,
        throttle=ThrottlePolicy(account_threshold=2, base_lock=timedelta(seconds=10), max_lock=timedelta(seconds=15)),
    )
    strict.add_user("dave", "agent", "dave's password")
    assert not fail(strict, "dave").locked
    assert fail(strict, "dave").retry_after == 10
    clock.advance(seconds=11)
    assert fail(strict, "dave").retry_after == 15  # 20 capped at 15


def test_after_failure_counts_from_the_end_of_the_last_lock():
    policy = ThrottlePolicy()
    state = None
    now = T0
    for _ in range(5):
        state = after_failure(policy, "account:x", state, now)
    assert state.failures == 5 and state.locked_until == T0 + timedelta(minutes=1)
    # 10 minutes after the lock ended is still the same run of failures
    later = after_failure(policy, "account:x", state, state.locked_until + timedelta(minutes=10))
    assert later.failures == 6 and later.locked_until - later.last_failure_at == timedelta(minutes=2)
    # 16 minutes after: a fresh start
    assert after_failure(policy, "account:x", state, state.locked_until + timedelta(minutes=16)).failures == 1


def test_unlock_clears_the_lockout(store):
    fail(store, times=5)
    assert store.unlock("alice") is True
    assert store.sign_in("alice", "alice's password", HOME).ok
    assert store.unlock("alice") is False  # the success cleared it already


# -- tokens and removal -------------------------------------------------------------------------------
def test_tokens_have_ids_and_one_can_be_revoked(store):
    first, second = store.issue_token("alice"), store.issue_token("alice")
    listed = store.list_tokens("alice")
    assert len(listed) == 2 and all(len(x.id) == 12 for x in listed)
    assert all(first not in x.id and second not in x.id for x in listed)
    from makegood.accounts.store import secret_hash, token_id

    store.revoke_token("alice", token_id(secret_hash(first)))
    assert store.user_for_token(first) is None and store.user_for_token(second).name == "alice"
    with pytest.raises(AccountError, match="no token"):
        store.revoke_token("alice", token_id(secret_hash(first)))
    with pytest.raises(AccountError, match="12 hex digits"):
        store.revoke_token("alice", "zz")
    with pytest.raises(AccountError, match="no token"):  # bob cannot revoke alice's token through his name
        store.revoke_token("bob", token_id(secret_hash(second)))


def test_remove_deletes_the_user_sessions_and_tokens(store, engine, clock):
    token = store.issue_token("alice")
    sid, _csrf = store.create_session("alice")
    fail(store, times=2)
    assert store.remove_user("alice") == {"sessions": 1, "tokens": 1}
    assert store.get("alice") is None
    assert store.user_for_token(token) is None and store.session(sid) is None
    assert not store.sign_in("alice", "alice's password", HOME).ok
    with engine.connect() as c:
        for table in (t.api_tokens, t.sessions):
            assert c.execute(select(func.count()).select_from(table).where(table.c.user_name == "alice")).scalar() == 0
        assert (
            c.execute(
                select(func.count()).select_from(t.signin_failures).where(t.signin_failures.c.user_name == "alice")
            ).scalar()
            == 3
        )  # the audit stays
    with pytest.raises(AccountError, match="no user"):
        store.remove_user("alice")


def test_removing_a_user_leaves_their_decisions_in_the_ledger(store, engine):
    ledger = Ledger(engine)
    p = ledger.log_proposal(
        ProposalIn(
            conversation_id="c-rm",
            turn_key="1",
            situation="damaged_item",
            policy_version="v",
            tier_required="agent",
            requested_by="bot",
            status="pending",
            channel="rest",
            facts={},
            options_offered=[],
            option_chosen={"remedy": "replacement"},
        )
    )
    ledger.decide(p.public_id, actor="alice", role="agent", decision="approve")
    store.remove_user("alice")
    assert [d.actor for d in ledger.get(p.public_id).decisions] == ["alice"]
    assert ledger.verify().ok


def test_the_migration_creates_the_signin_tables(engine):
    names = set(inspect(engine).get_table_names())
    assert {"signin_throttle", "signin_failures"} <= names


# -- the commands ---------------------------------------------------------------------------------------
@pytest.fixture
def cli_db(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("MAKEGOOD_DATABASE_URL", url)
    engine = make_engine(url)
    migrate(engine)
    store = AccountStore(engine, hasher=FAST)
    store.add_user("erin", "agent", "erin's password")
    yield store
    engine.dispose()


def run(argv, capsys):
    """(exit code, stdout, stderr) of `makegood ARGV`, in process; usage errors exit via SystemExit."""
    try:
        code = main(argv)
    except SystemExit as exit_:
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_revoke_tokens_all_and_by_id(cli_db, capsys):
    code, out, _ = run(["users", "token", "erin"], capsys)
    first = out.strip().splitlines()[-1]
    first_id = out.split("(id ")[1].split(";")[0]
    second = cli_db.issue_token("erin")
    code, out, _ = run(["users", "tokens", "erin"], capsys)
    assert code == 0 and first_id in out and len(out.strip().splitlines()) == 2
    code, out, _ = run(["users", "revoke-tokens", "erin", "--id", first_id], capsys)
    assert code == 0 and f"revoked token {first_id}" in out
    assert cli_db.user_for_token(first) is None and cli_db.user_for_token(second) is not None
    code, out, _ = run(["users", "revoke-tokens", "erin"], capsys)
    assert code == 0 and "revoked 1 API token of erin" in out
    assert cli_db.user_for_token(second) is None


def test_cli_remove_and_unlock(cli_db, capsys):
    for _ in range(5):
        cli_db.sign_in("erin", "nope-nope", HOME)
    code, out, _ = run(["users", "signin-failures", "erin"], capsys)
    assert code == 0 and len(out.strip().splitlines()) == 5 and HOME in out and "password" in out
    code, out, _ = run(["users", "unlock", "erin"], capsys)
    assert code == 0 and "may sign in again" in out
    assert cli_db.sign_in("erin", "erin's password", HOME).ok
    code, out, _ = run(["users", "remove", "erin"], capsys)
    assert code == 0 and "removed erin" in out and cli_db.get("erin") is None


@pytest.mark.parametrize(
    "argv, message",
    [
        (["users", "remove", "nobody"], "no user 'nobody'"),
        (["users", "unlock", "nobody"], "no user 'nobody'"),
        (["users", "revoke-tokens", "nobody"], "no user 'nobody'"),
        (["users", "revoke-tokens", "erin", "--id", "not-an-id"], "12 hex digits"),
        (["users", "signin-failures", "--limit", "-1"], "whole number from 1 to 1000"),
    ],
)
def test_cli_bad_input_is_one_line_exit_2(cli_db, capsys, argv, message):
    code, _out, err = run(argv, capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], err
