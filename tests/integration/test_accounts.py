"""Accounts on a real database: SQLite always, PostgreSQL when MAKEGOOD_TEST_POSTGRES_URL is set
(the `engine` fixture from conftest migrates a fresh database per test)."""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import sys
from datetime import datetime, timedelta, timezone

import pytest
from argon2 import PasswordHasher
from sqlalchemy import inspect, select

from makegood.accounts import (
    ROLES,
    AccountError,
    AccountStore,
    csrf_ok,
    ledger_role,
    seed_demo_accounts,
    tier_for_role,
)
from makegood.accounts import schema as t
from makegood.accounts.cli import add_commands
from makegood.db import current_revision, head_revision, session_factory, unit_of_work
from makegood.errors import MakegoodError
from makegood.policy import Tier

pytestmark = pytest.mark.integration

FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)  # same algorithm, test-sized


class Clock:
    def __init__(self):
        self.now = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def store(engine, clock):
    return AccountStore(engine, hasher=FAST, now=clock)


def rows(engine, table):
    with unit_of_work(session_factory(engine, read_only=True)) as s:
        return [dict(r) for r in s.execute(select(table)).mappings()]


def test_the_migration_creates_the_account_tables(engine):
    assert current_revision(engine) == head_revision()
    assert {"users", "api_tokens", "sessions"} <= set(inspect(engine).get_table_names())


# -- users and passwords ---------------------------------------------------------------------------
def test_add_and_authenticate(store, engine):
    alice = store.add_user("alice", "agent", "correct horse")
    assert (alice.name, alice.role, alice.active) == ("alice", "agent", True)
    assert alice.created_at.tzinfo is not None
    assert store.authenticate("alice", "correct horse") == alice
    assert store.authenticate("Alice ", "correct horse") == alice  # names are lower-case
    assert store.authenticate("alice", "wrong horse") is None
    assert store.authenticate("alice", "") is None
    assert store.authenticate("nobody", "correct horse") is None
    assert store.authenticate("", "correct horse") is None
    stored = rows(engine, t.users)[0]["password_hash"]
    assert stored.startswith("$argon2id$") and "correct horse" not in stored
    assert store.get("alice") == alice and store.get("nobody") is None


def test_an_unknown_user_costs_a_password_check_too(engine):
    calls = []

    class Spy(PasswordHasher):
        def verify(self, hash, password):
            calls.append(hash)
            return super().verify(hash, password)

    store = AccountStore(engine, hasher=Spy(time_cost=1, memory_cost=1024, parallelism=1))
    store.add_user("alice", "agent", "correct horse")
    assert store.authenticate("mallory", "correct horse") is None
    assert store.authenticate("alice", "wrong horse") is None
    assert len(calls) == 2 and calls[0] != calls[1]  # a dummy hash, then alice's


def test_inactive_users_never_authenticate(store):
    store.add_user("bob", "agent", "bob's password")
    store.set_active("bob", False)
    assert store.get("bob").active is False
    assert store.authenticate("bob", "bob's password") is None
    with pytest.raises(AccountError, match="inactive"):
        store.create_session("bob")
    assert store.set_active("bob", True).active and store.authenticate("bob", "bob's password")


def test_a_weak_hash_is_upgraded_at_the_next_login(engine, store):
    store.add_user("alice", "agent", "correct horse")
    before = rows(engine, t.users)[0]["password_hash"]
    strong = AccountStore(engine)  # argon2-cffi's defaults
    assert strong.authenticate("alice", "correct horse").name == "alice"
    after = rows(engine, t.users)[0]["password_hash"]
    assert after != before and "m=65536" in after
    assert strong.authenticate("alice", "correct horse") is not None


def test_a_duplicate_user_is_refused(store):
    store.add_user("alice", "agent", "correct horse")
    with pytest.raises(AccountError, match=r"^user alice already exists$"):
        store.add_user("alice", "supervisor", "another password")
    with pytest.raises(MakegoodError, match="user alice already exists"):
        store.add_user("ALICE", "agent", "another password")


@pytest.mark.parametrize(
    "name, role, password, message",
    [
        ("a", "agent", "long enough", "invalid user name 'a'"),
        ("-alice", "agent", "long enough", "invalid user name"),
        ("al ice", "agent", "long enough", "invalid user name"),
        ("alice!", "agent", "long enough", "invalid user name"),
        ("x" * 41, "agent", "long enough", "invalid user name"),
        (
            "alice",
            "manager",
            "long enough",
            "unknown role 'manager'; expected one of: agent, supervisor, reviewer, admin",
        ),
        ("alice", "", "long enough", "unknown role"),
        ("alice", "agent", "short", "at least 8 characters"),
        ("alice", "agent", "x" * 2000, "at most 1024 characters"),
    ],
)
def test_bad_names_roles_and_passwords_are_refused(store, name, role, password, message):
    with pytest.raises(AccountError, match=message.replace("(", r"\(")):
        store.add_user(name, role, password)
    assert store.list_users() == []


def test_names_may_use_dots_dashes_and_underscores(store):
    for name in ("j.doe", "ops_lead", "agent-7", "42"):
        store.add_user(name, "agent", "long enough")
    assert [u.name for u in store.list_users()] == ["42", "agent-7", "j.doe", "ops_lead"]


def test_set_role(store):
    store.add_user("alice", "agent", "correct horse")
    assert store.set_role("alice", "supervisor").role == "supervisor"
    assert store.get("alice").role == "supervisor"
    with pytest.raises(AccountError, match="unknown role"):
        store.set_role("alice", "overlord")
    with pytest.raises(AccountError, match="no user 'zed'"):
        store.set_role("zed", "agent")


def test_roles_and_authority():
    assert ROLES == ("agent", "supervisor", "reviewer", "admin")
    assert tier_for_role("agent") is Tier.AGENT and tier_for_role("supervisor") is Tier.SUPERVISOR
    assert tier_for_role("reviewer") is None and tier_for_role("admin") is None
    assert [ledger_role(r) for r in ROLES] == ["agent", "supervisor", None, None]


# -- API tokens --------------------------------------------------------------------------------------
def test_tokens_are_shown_once_and_stored_as_hashes(store, engine, clock):
    store.add_user("alice", "agent", "correct horse")
    token = store.issue_token("alice")
    assert len(token) >= 40 and token != store.issue_token("alice")
    stored = rows(engine, t.api_tokens)
    assert len(stored) == 2
    assert hashlib.sha256(token.encode()).hexdigest() in {r["token_hash"] for r in stored}
    assert all(token not in json.dumps(r, default=str) for r in stored)
    assert all(r["last_used_at"] is None for r in stored)
    assert store.user_for_token(token).name == "alice"
    mine = next(r for r in rows(engine, t.api_tokens) if r["token_hash"] == hashlib.sha256(token.encode()).hexdigest())
    assert mine["last_used_at"] == clock.now
    assert store.user_for_token(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert store.user_for_token("") is None and store.user_for_token(None) is None
    store.set_active("alice", False)
    assert store.user_for_token(token) is None
    with pytest.raises(AccountError, match="inactive"):
        store.issue_token("alice")
    with pytest.raises(AccountError, match="no user"):
        store.issue_token("zed")
    assert store.revoke_tokens("alice") == 2


# -- sessions ----------------------------------------------------------------------------------------
def test_sessions_live_eight_hours_and_store_only_a_hash(store, engine, clock):
    store.add_user("alice", "agent", "correct horse")
    sid, csrf = store.create_session("alice")
    assert sid != csrf and len(sid) >= 40 and len(csrf) >= 40
    row = rows(engine, t.sessions)[0]
    assert row["id_hash"] == hashlib.sha256(sid.encode()).hexdigest() and sid not in json.dumps(row, default=str)
    assert row["expires_at"] - row["created_at"] == timedelta(hours=8)
    user, token = store.session(sid)
    assert user.name == "alice" and token == csrf
    assert csrf_ok(token, csrf) and not csrf_ok(token, csrf + "x") and not csrf_ok(token, None)
    assert not csrf_ok(token, "") and not csrf_ok("", "")
    clock.now += timedelta(hours=7, minutes=59)
    assert store.session(sid) is not None
    clock.now += timedelta(minutes=1)
    assert store.session(sid) is None
    assert rows(engine, t.sessions) == []  # an expired session is removed when seen


def test_ending_a_session_and_unknown_sessions(store):
    store.add_user("alice", "agent", "correct horse")
    sid, _ = store.create_session("alice")
    other, _ = store.create_session("alice")
    store.end_session(sid)
    assert store.session(sid) is None and store.session(other) is not None
    assert store.session("made-up") is None and store.session(None) is None and store.session("") is None
    store.end_session("made-up")  # harmless
    store.set_active("alice", False)
    assert store.session(other) is None
    with pytest.raises(AccountError, match="no user"):
        store.create_session("zed")


def test_purging_expired_sessions(store, clock):
    store.add_user("alice", "agent", "correct horse")
    store.create_session("alice")
    clock.now += timedelta(hours=9)
    live, _ = store.create_session("alice")
    assert store.purge_expired_sessions() == 1 and store.session(live) is not None


# -- demo accounts -----------------------------------------------------------------------------------
DEMO = [
    ("alice", "agent", "alice-demo-pass"),
    ("bob", "agent", "bob-demo-pass"),
    ("sam", "supervisor", "sam-demo-pass"),
    ("rita", "reviewer", "rita-demo-pass"),
    ("ada", "admin", "ada-demo-pass"),
]


def test_seeding_demo_accounts_is_idempotent_and_keeps_changed_passwords(store):
    assert seed_demo_accounts(store) == DEMO
    assert seed_demo_accounts(store) == DEMO  # still the demo passwords: still shown
    assert len(store.list_users()) == 5
    store.set_password("alice", "alice's own secret")
    assert seed_demo_accounts(store) == DEMO[1:]
    assert store.authenticate("alice", "alice's own secret") is not None
    assert store.authenticate("alice", "alice-demo-pass") is None
    assert store.authenticate("sam", "sam-demo-pass").role == "supervisor"


# -- the CLI ---------------------------------------------------------------------------------------
def run(argv, monkeypatch, capsys, stdin=""):
    """Like `makegood.cli.main`, with the users commands added the way cli.py adds them."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true")
    common.add_argument("--policy")
    parser = argparse.ArgumentParser(prog="makegood")
    sub = parser.add_subparsers(dest="command", required=True)

    def add(parent, name, func, help):
        p = parent.add_parser(name, parents=[common], help=help, description=help)
        p.set_defaults(func=func)
        return p

    add_commands(sub, add)
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    args = parser.parse_args(argv)
    try:
        args.func(args)
        code = 0
    except MakegoodError as exc:
        print(f"makegood: error: {exc}", file=sys.stderr)
        code = 2
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def cli_db(backend_url, monkeypatch):
    monkeypatch.setenv("MAKEGOOD_DATABASE_URL", backend_url)
    return backend_url


def test_cli_users_commands(cli_db, monkeypatch, capsys):
    code, out, _ = run(
        ["users", "add", "carol", "--role", "agent", "--password-stdin"],
        monkeypatch,
        capsys,
        stdin="carol's password\n",
    )
    assert code == 0 and out.strip() == "ok: added carol (agent)"
    code, _, err = run(["users", "add", "dave", "--role", "agent"], monkeypatch, capsys)
    assert code == 2 and "use --password-stdin" in err and err.count("\n") == 1
    code, _, err = run(
        ["users", "add", "carol", "--role", "agent", "--password-stdin"],
        monkeypatch,
        capsys,
        stdin="another password\n",
    )
    assert code == 2 and err.strip() == "makegood: error: user carol already exists"
    code, _, err = run(
        ["users", "add", "eve", "--role", "root", "--password-stdin"], monkeypatch, capsys, stdin="long enough\n"
    )
    assert code == 2 and "unknown role 'root'" in err
    code, _, err = run(
        ["users", "add", "eve", "--role", "agent", "--password-stdin"], monkeypatch, capsys, stdin="short\n"
    )
    assert code == 2 and "at least 8 characters" in err

    code, out, _ = run(["users", "set-role", "carol", "supervisor"], monkeypatch, capsys)
    assert code == 0 and out.strip() == "ok: carol is now supervisor"
    code, out, _ = run(["users", "list", "--json"], monkeypatch, capsys)
    assert code == 0 and [(u["name"], u["role"], u["active"]) for u in json.loads(out)] == [
        ("carol", "supervisor", True)
    ]

    code, out, _ = run(["users", "token", "carol"], monkeypatch, capsys)
    token = out.strip().splitlines()[-1]
    assert code == 0 and "shown once" in out
    from makegood.db import make_engine

    engine = make_engine(cli_db)
    try:
        assert AccountStore(engine).user_for_token(token).name == "carol"
    finally:
        engine.dispose()
    code, _, err = run(["users", "token", "zed"], monkeypatch, capsys)
    assert code == 2 and "no user 'zed'" in err


def test_cli_password_typed_twice_at_a_terminal(monkeypatch):
    from makegood.accounts.cli import read_password

    class Tty(io.StringIO):
        def isatty(self):
            return True

    answers = iter(["typed password", "typed password"])
    assert read_password(False, Tty(), prompt=lambda _: next(answers)) == "typed password"
    answers = iter(["typed password", "typo password"])
    with pytest.raises(MakegoodError, match="do not match"):
        read_password(False, Tty(), prompt=lambda _: next(answers))
    with pytest.raises(MakegoodError, match="use --password-stdin"):
        read_password(False, io.StringIO("x"))
    with pytest.raises(MakegoodError, match="no password on stdin"):
        read_password(True, io.StringIO(""))
    assert read_password(True, io.StringIO("with spaces  \r\nsecond line")) == "with spaces  "


def test_cli_seed_demo(cli_db, monkeypatch, capsys):
    code, out, _ = run(["users", "seed-demo"], monkeypatch, capsys)
    assert code == 0
    for name, role, password in DEMO:
        assert any(line.split() == [name, role, password] for line in out.splitlines())
    code, out, _ = run(["users", "seed-demo", "--json"], monkeypatch, capsys)
    assert code == 0 and [(r["name"], r["role"], r["password"]) for r in json.loads(out)] == DEMO
    code, out, _ = run(["users", "list"], monkeypatch, capsys)
    assert code == 0 and len(out.strip().splitlines()) == 5


def test_the_makegood_command_has_the_users_commands(cli_db, capsys):
    from makegood import cli

    parser = cli.build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    if "users" not in commands.choices:
        pytest.skip("makegood.cli does not call makegood.accounts.cli.add_commands yet")
    assert cli.main(["users", "seed-demo"]) == 0
    assert "alice-demo-pass" in capsys.readouterr().out
