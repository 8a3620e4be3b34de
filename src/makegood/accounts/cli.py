"""`makegood users ...`: manage desk and copilot accounts.

    makegood users add NAME --role ROLE [--password-stdin]
    makegood users list
    makegood users set-role NAME ROLE
    makegood users token NAME          # prints a new API token (and its id), once
    makegood users tokens NAME         # a user's tokens by id, with when they were last used
    makegood users revoke-tokens NAME [--id ID]   # every token of NAME, or the one with that id
    makegood users remove NAME         # delete the account, its sessions and tokens
    makegood users unlock NAME         # clear NAME's failed sign-in counter and lockout
    makegood users signin-failures [NAME] [--limit N]   # the audit of failed sign-ins
    makegood users seed-demo           # the demo accounts (safe to repeat)

Wired into `makegood.cli` with `add_commands(sub, add)`. Bad input raises MakegoodError,
which the main command prints as one line (exit 2).
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import sys
from collections.abc import Callable, Iterator
from typing import Any, TextIO

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
    add(users, "tokens", cmd_users_tokens, "list a user's API tokens by id").add_argument("name")
    p = add(users, "revoke-tokens", cmd_users_revoke_tokens, "revoke a user's API tokens (all, or one by --id)")
    p.add_argument("name")
    p.add_argument("--id", dest="token_id", help="revoke only this token (its id from `makegood users tokens`)")
    add(
        users,
        "remove",
        cmd_users_remove,
        "delete a user, their sessions and tokens (the ledger keeps the name on past decisions)",
    ).add_argument("name")
    add(users, "unlock", cmd_users_unlock, "clear a user's failed sign-in counter and lockout").add_argument("name")
    p = add(users, "signin-failures", cmd_users_signin_failures, "the newest failed sign-ins (who, address, when)")
    p.add_argument("name", nargs="?")
    p.add_argument("--limit", type=_limit, default=50, help="how many (1 to 1000, default 50)")
    add(users, "seed-demo", cmd_users_seed_demo, "create the demo accounts (safe to repeat)")


# -- plumbing -----------------------------------------------------------------------------------
def _limit(text: str) -> int:
    raw = str(text).strip()
    if not raw.isdigit() or len(raw) > 4 or not 1 <= int(raw) <= 1000:
        raise argparse.ArgumentTypeError(f"expected a whole number from 1 to 1000, got {text!r}")
    return int(raw)


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


def read_password(from_stdin: bool, stdin: TextIO | None = None, prompt: Callable[[str], str] = getpass.getpass) -> str:
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
    from makegood.accounts.store import secret_hash, token_id

    with _store() as store:
        token = store.issue_token(args.name)
        user = store.get(args.name)
    _emit(
        args,
        {"name": user.name, "role": user.role, "token": token, "id": token_id(secret_hash(token))},
        lambda r: f"API token for {r['name']} (id {r['id']}; shown once, keep it safe):\n{r['token']}",
    )


def cmd_users_tokens(args: argparse.Namespace) -> None:
    with _store() as store:
        tokens = store.list_tokens(args.name)

    def human(ts) -> str:
        if not ts:
            return f"{args.name.strip().lower()} has no API tokens"
        return "\n".join(
            f"{x.id}  issued {x.created_at:%Y-%m-%d %H:%M}  last used {x.last_used_at:%Y-%m-%d %H:%M}"
            if x.last_used_at
            else f"{x.id}  issued {x.created_at:%Y-%m-%d %H:%M}  never used"
            for x in ts
        )

    _emit(args, tokens, human)


def cmd_users_revoke_tokens(args: argparse.Namespace) -> None:
    with _store() as store:
        user = store.get(args.name)
        if user is None:
            raise MakegoodError(f"no user {args.name.strip()!r}")
        if args.token_id:
            store.revoke_token(user.name, args.token_id)
            result = {"name": user.name, "revoked": 1, "id": args.token_id.strip().lower()}
        else:
            result = {"name": user.name, "revoked": store.revoke_tokens(user.name)}
    _emit(
        args,
        result,
        lambda r: (
            f"ok: revoked token {r['id']} of {r['name']}"
            if "id" in r
            else f"ok: revoked {r['revoked']} API token{'s' if r['revoked'] != 1 else ''} of {r['name']}"
        ),
    )


def cmd_users_remove(args: argparse.Namespace) -> None:
    from makegood.accounts.store import normalise_name

    with _store() as store:
        counts = store.remove_user(args.name)
    result = {"name": normalise_name(args.name), **counts}
    _emit(
        args,
        result,
        lambda r: (
            f"ok: removed {r['name']} ({r['sessions']} sessions and {r['tokens']} API tokens "
            f"ended; past decisions in the ledger keep the name)"
        ),
    )


def cmd_users_unlock(args: argparse.Namespace) -> None:
    with _store() as store:
        user = store.get(args.name)
        if user is None:
            raise MakegoodError(f"no user {args.name.strip()!r}")
        cleared = store.unlock(user.name)
    _emit(
        args,
        {"name": user.name, "cleared": cleared},
        lambda r: f"ok: {r['name']} may sign in again" + ("" if r["cleared"] else " (there was no lockout)"),
    )


def cmd_users_signin_failures(args: argparse.Namespace) -> None:
    with _store() as store:
        failures = store.signin_failures(args.name, limit=args.limit)
    _emit(
        args,
        failures,
        lambda fs: (
            "\n".join(
                f"{f.created_at:%Y-%m-%d %H:%M:%S}  {f.user_name:<20} {f.address or '-':<40} {f.reason}" for f in fs
            )
            or "no failed sign-ins recorded"
        ),
    )


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
