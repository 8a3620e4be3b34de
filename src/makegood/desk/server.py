"""The desk's command line: build the real wiring, migrate, run one Sanic worker.

    python -m makegood.desk [--host 127.0.0.1] [--port 8000] [--rasa-url URL] [--seed-demo]

MAKEGOOD_DATABASE_URL / MAKEGOOD_POLICY_PATH as everywhere (makegood.config);
MAKEGOOD_RASA_URL (default http://127.0.0.1:5005) for the copilot's language understanding
and the customer chat; MAKEGOOD_RASA_TOKEN, the Rasa API token the copilot sends to /model/parse.

Cookies are marked Secure unless the desk is served on loopback (MAKEGOOD_DESK_SECURE_COOKIES
= auto, the default; `always` — same as --secure-cookies — or `never`). Over TLS — HTTPS here,
or `X-Forwarded-Proto: https` from a proxy listed in MAKEGOOD_DESK_TRUSTED_PROXIES (its IP
addresses, comma separated) — responses carry Strict-Transport-Security.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from datetime import date

from makegood.errors import MakegoodError

log = logging.getLogger("makegood.desk")

DEFAULT_RASA_URL = "http://127.0.0.1:5005"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m makegood.desk", description="Run the Makegood agent desk.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    parser.add_argument(
        "--rasa-url",
        default=os.environ.get("MAKEGOOD_RASA_URL", DEFAULT_RASA_URL),
        help="the Rasa server (default $MAKEGOOD_RASA_URL or %(default)s)",
    )
    parser.add_argument(
        "--seed-demo",
        action="store_true",
        help="create the demo customers and the demo accounts, and print their sign-ins",
    )
    parser.add_argument(
        "--secure-cookies",
        action="store_true",
        help="always mark cookies Secure (default: Secure unless served on loopback)",
    )
    args = parser.parse_args(argv)
    mode = "always" if args.secure_cookies else os.environ.get("MAKEGOOD_DESK_SECURE_COOKIES", "auto").strip().lower()
    if mode not in ("auto", "always", "never"):
        parser.error(f"MAKEGOOD_DESK_SECURE_COOKIES must be auto, always or never, not {mode!r}")
    args.secure_cookie_mode = mode
    args.trusted_proxies = tuple(
        p.strip() for p in os.environ.get("MAKEGOOD_DESK_TRUSTED_PROXIES", "").split(",") if p.strip()
    )
    args.rasa_token = os.environ.get("MAKEGOOD_RASA_TOKEN", "").strip() or None
    return args


def serve(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        app = build(args)
    except MakegoodError as exc:
        print(f"makegood desk: {exc}", file=sys.stderr)
        return 2
    print(f"Makegood desk on http://{args.host}:{args.port}/  (customer chat: /chat)", flush=True)
    app.run(host=args.host, port=args.port, workers=1, access_log=False, debug=False)
    return 0


def build(args: argparse.Namespace):
    from makegood.accounts import AccountStore, seed_demo_accounts
    from makegood.db import migrate
    from makegood.desk.app import create_app
    from makegood.services.bootstrap import get_services
    from makegood.services.copilot import RasaHttpUnderstanding

    services = get_services()
    engine = services.ledger.engine
    migrate(engine)
    accounts = AccountStore(engine)
    if args.seed_demo:
        from makegood.customers import seed_demo

        seed_demo(engine, date.today())
        for name, role, password in seed_demo_accounts(accounts):
            print(f"  demo sign-in: {name} / {password}  ({role})", flush=True)
    from makegood.desk.auth import install_transport_security

    understanding = RasaHttpUnderstanding(args.rasa_url, token=getattr(args, "rasa_token", None))
    demo_sign_in = os.environ.get("MAKEGOOD_DEMO_SIGN_IN", "").strip().lower() in ("1", "true", "yes")
    if demo_sign_in:
        log.warning("demo sign-in is on: the chat page lets anyone chat as any demo customer (never in production)")
    app = create_app(
        get_services,
        accounts,
        understanding,
        rasa_url=args.rasa_url,
        secure_cookies=args.secure_cookies,
        demo_sign_in=demo_sign_in,
    )
    install_transport_security(
        app,
        secure_cookies=getattr(args, "secure_cookie_mode", "auto"),
        trusted_proxies=getattr(args, "trusted_proxies", ()),
    )
    return app
