"""`makegood users ...`: manage desk and copilot accounts.

    makegood users add NAME --role ROLE [--password-stdin]
    makegood users list
    makegood users set-role NAME ROLE
    makegood users token NAME          # prints a new API token, once
    makegood users seed-demo           # the demo accounts (safe to repeat)

Wired into `makegood.cli` with `add_commands(sub, add)`. Bad input raises MakegoodError,
which the main command prints as one line (exit 2).
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import sys
from typing import Any, Callable, Iterator, Optional, TextIO

from makegood.errors import MakegoodError


def add_commands(sub, add) -> None:
    """Add the `users` command group. `sub`: the subparsers of the `makegood` parser;
    `add(parent, name, func, help)`: makegood.cli's helper (adds --json and --policy)."""
    users = sub.add_parser("users", help="desk and copilot accounts").add_subparsers(dest="sub", required=True)
    p = add(users, "add", cmd_users_add, "add a user (agent, supervisor, reviewer or admin)")
    p.add_argument("name")
    p.add_argument("--role", required=True, help="agent, supervisor, reviewer or admin")
    p.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    add(users, "list", cmd_users_list, "list users")
    p = add(users, "set-role", cmd_users_set_role, "change a user's role")
    p.add_argument("name")
    p.add_argument("role")
    add(users, "token", cmd_users_token, "issue an API token for a user (shown once)").add_argument("name")
    add(users, "seed-demo", cmd_users_seed_demo, "create the demo accounts (safe to repeat)")


# -- plumbing -----------------------------------------------------------------------------------
@contextlib.contextmanager
def _store() -> Iterator[Any]:
    from makegood.accounts import AccountStore
    from makegood.config import get_settings
    from makegood.db import make_engine, migrate

    engine = make_engine(get_settings().database_url)
    try:
        migrate(engine)
        yield AccountStore(engine)
    finally:
        engine.dispose()


def _emit(args: argparse.Namespace, result: Any, human: Callable[[Any], str]) -> None:
    from makegood.jsonable import dumps

    print(dumps(result, indent=2, sort_keys=True) if getattr(args, "json", False) else human(result))


def read_password(from_stdin: bool, stdin: Optional[TextIO] = None,
                  prompt: Callable[[str], str] = getpass.getpass) -> str:
    """The new user's password: the first line of stdin with --password-stdin; otherwise
    typed twice at a terminal. Never from the command line (it would land in shell history)."""
    stdin = stdin if stdin is not None else sys.stdin
    if from_stdin:
        line = stdin.readline()
        password = line[:-1] if line.endswith("\n") else line
        if password.endswith("\r"):
            password = password[:-1]
        if not password:
            raise MakegoodError("no password on stdin (--password-stdin reads the first line)")
        return password
    if not stdin.isatty():
        raise MakegoodError("stdin is not a terminal: use --password-stdin to pass the password")
    first = prompt("Password: ")
    second = prompt("Password again: ")
    if first != second:
        raise MakegoodError("the two passwords do not match")
    return first


def _user_line(u) -> str:
    state = "" if u.active else "  (inactive)"
    return f"{u.name:<20} {u.role:<11} since {u.created_at:%Y-%m-%d}{state}"


# -- commands -----------------------------------------------------------------------------------
def cmd_users_add(args: argparse.Namespace) -> None:
    from makegood.accounts.store import check_name, check_role

    check_name(args.name)  # say what is wrong before asking for a password
    check_role(args.role)
    password = read_password(args.password_stdin)
    with _store() as store:
        user = store.add_user(args.name, args.role, password)
    _emit(args, user, lambda u: f"ok: added {u.name} ({u.role})")


def cmd_users_list(args: argparse.Namespace) -> None:
    with _store() as store:
        users = store.list_users()
    _emit(args, users, lambda us: "\n".join(_user_line(u) for u in us) or "no users (try: makegood users seed-demo)")


def cmd_users_set_role(args: argparse.Namespace) -> None:
    with _store() as store:
        user = store.set_role(args.name, args.role)
    _emit(args, user, lambda u: f"ok: {u.name} is now {u.role}")


def cmd_users_token(args: argparse.Namespace) -> None:
    with _store() as store:
        token = store.issue_token(args.name)
        user = store.get(args.name)
    _emit(args, {"name": user.name, "role": user.role, "token": token},
          lambda r: f"API token for {r['name']} (shown once, keep it safe):\n{r['token']}")


def cmd_users_seed_demo(args: argparse.Namespace) -> None:
    from makegood.accounts import seed_demo_accounts

    with _store() as store:
        rows = seed_demo_accounts(store)
    result = [{"name": n, "role": r, "password": p} for n, r, p in rows]

    def human(rs) -> str:
        if not rs:
            return "ok: demo accounts exist (their passwords were changed, so none is shown)"
        lines = ["Demo accounts (for the demo only):", f"  {'name':<8} {'role':<11} password"]
        lines += [f"  {r['name']:<8} {r['role']:<11} {r['password']}" for r in rs]
        return "\n".join(lines)

    _emit(args, result, human)
