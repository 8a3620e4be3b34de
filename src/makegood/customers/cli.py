"""`makegood customers ...`: a company's own customers, and the tokens that bind a chat to one.

    makegood customers import FILE [FILE ...] [--dry-run]   # JSON or CSV (makegood.customers.importer)
    makegood customers token CUSTOMER_ID [--hours N]        # a signed chat token, for integrators

Wired into `makegood.cli` with `add_commands(sub, add)`. Bad input raises MakegoodError,
which the main command prints (exit 2).
"""

from __future__ import annotations

import argparse
import json
from datetime import timedelta
from pathlib import Path

from makegood.errors import MakegoodError


def add_commands(sub, add) -> None:
    group = sub.add_parser("customers", help="customers and orders, and chat tokens").add_subparsers(
        dest="sub", required=True
    )
    p = add(group, "import", cmd_import, "load customers and orders from JSON or CSV (validated; safe to repeat)")
    p.add_argument("files", nargs="+", metavar="FILE", help="a .json file, or .csv files (customers, orders)")
    p.add_argument("--dry-run", action="store_true", help="validate only; write nothing")
    p = add(group, "token", cmd_token, "mint a signed token that binds a chat to a customer")
    p.add_argument("customer_id")
    p.add_argument("--hours", type=float, default=8.0, help="how long it is valid (default 8, at most 744)")


def _store():
    from makegood.config import get_settings
    from makegood.customers.store import SqlCustomerStore
    from makegood.db import make_engine, migrate

    url = get_settings().database_url
    migrate(url)
    return SqlCustomerStore(make_engine(url))


def cmd_import(args: argparse.Namespace) -> None:
    from makegood.customers.importer import import_records

    store = _store()
    try:
        counts = import_records(store, [Path(f) for f in args.files], dry_run=args.dry_run)
    finally:
        store.engine.dispose()
    verb = "would import" if args.dry_run else "imported"
    counts = {**counts, "dry_run": bool(args.dry_run)}
    print(json.dumps(counts) if args.json else f"ok: {verb} {counts['customers']} customers, {counts['orders']} orders")


def cmd_token(args: argparse.Namespace) -> None:
    from makegood.config import get_settings
    from makegood.customers.identity import sign

    settings = get_settings()
    if not settings.identity_secret:
        raise MakegoodError("MAKEGOOD_IDENTITY_SECRET is not set (source scripts/env.sh, or set it yourself)")
    store = _store()
    try:
        if store.customer(args.customer_id.strip().upper()) is None:
            raise MakegoodError(
                f"no customer {args.customer_id} in the store (makegood customers import, or seed-demo)"
            )
    finally:
        store.engine.dispose()
    token = sign(args.customer_id.strip().upper(), settings.identity_secret, ttl=timedelta(hours=args.hours))
    print(json.dumps({"customer_id": args.customer_id.strip().upper(), "token": token}) if args.json else token)
