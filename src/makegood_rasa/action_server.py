"""Makegood's actions server: rasa_sdk's app, on loopback, behind a shared secret.

    python -m makegood_rasa.action_server [--actions actions] [--host 127.0.0.1] [--port 5055]

`rasa run actions` listens on every interface (0.0.0.0; only the SANIC_HOST variable changes
that) and accepts any tracker POSTed to /webhook, so anyone who can reach the port can run
our actions with a forged tracker. This entry point builds the same app with
`rasa_sdk.endpoint.create_app`, serves it on 127.0.0.1 by default, and refuses every request
but `GET /health` that does not carry `?token=` equal to MAKEGOOD_ACTIONS_TOKEN (compared in
constant time). Rasa sends it: `action_endpoint.token` in rasa_project/endpoints.yml.
"""

from __future__ import annotations

import argparse
import atexit
import hmac
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from typing import Any

OPEN_PATHS = ("/health",)
# Rasa's client (aiohttp) keeps an idle connection to this server for up to 15 s and reuses it;
# Sanic closes idle connections after 5 s. When the close and the reuse cross, Rasa's request
# fails ("Cannot write to closing transport"), Rasa drops the action's events and the customer
# gets an apology with no options (seen at 100 conversations at once). The server must outlast
# the client: the client then always closes first. SANIC_KEEP_ALIVE_TIMEOUT still overrides.
KEEP_ALIVE_SECONDS = 75
TOKEN_ENV = "MAKEGOOD_ACTIONS_TOKEN"
UNAUTHORIZED = (
    "this actions server only answers the Makegood Rasa server: send ?token= with the shared "
    "secret (MAKEGOOD_ACTIONS_TOKEN)"
)


def token_ok(expected: str, given: str | None) -> bool:
    if not expected or not given:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def create_app(token: str, actions_package: str = "actions") -> Any:
    """rasa_sdk's app with a token check in front of everything but /health. No CORS: no
    browser has any business calling the actions server."""
    if not token:
        raise ValueError(f"{TOKEN_ENV} is empty: the actions server needs a shared secret")
    from rasa_sdk.endpoint import create_app as sdk_app
    from sanic.response import json

    app = sdk_app(actions_package, cors_origins="")
    if "SANIC_KEEP_ALIVE_TIMEOUT" not in os.environ:
        app.config.KEEP_ALIVE_TIMEOUT = KEEP_ALIVE_SECONDS

    async def require_token(request: Any) -> Any:
        if request.path in OPEN_PATHS and request.method in ("GET", "HEAD"):
            return None
        if not token_ok(token, request.args.get("token")):
            return json({"error": UNAUTHORIZED}, status=401)
        return None

    app.register_middleware(require_token, "request")
    instrument(app, actions_of(actions_package))
    app.register_listener(die_with_the_main_process(os.getpid()), "before_server_start")
    return app


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_the_main_process(main_pid: int) -> Any:
    """A listener for each worker process: when the main process dies (even by kill -9, which
    it cannot pass on), the kernel ends the worker too. Otherwise orphaned workers would go on
    holding the port, so the server a supervisor restarts could not listen, and a "down"
    actions server would still answer. Linux only; elsewhere workers outlive a killed parent."""

    async def listener(app: Any, loop: Any) -> None:
        if os.getpid() == main_pid or not sys.platform.startswith("linux"):
            return  # one worker: the server runs in the main process itself
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != main_pid:  # the main process died before the line above took effect
            os._exit(1)

    return listener


def actions_of(actions_package: str) -> frozenset[str]:
    """The action names this server runs: the only values the metrics' action label takes."""
    from rasa_sdk.executor import ActionExecutor

    executor = ActionExecutor()
    executor.register_package(actions_package)
    return frozenset(executor.actions)


def instrument(app: Any, known: frozenset[str]) -> None:
    """Turn counts, latency and errors per action (makegood.metrics), and GET /metrics behind
    the same token as everything else (Prometheus sends it as a query parameter)."""
    import time

    from sanic.response import raw

    from makegood import metrics

    async def started(request: Any) -> None:
        request.ctx.started = time.perf_counter()

    async def finished(request: Any, response: Any) -> None:
        # Refused calls (no token) are not counted: a forged body must not mint label values.
        if request.path != "/webhook" or not hasattr(request.ctx, "started") or response.status == 401:
            return
        try:
            name = (request.json or {}).get("next_action")
        except Exception:  # noqa: BLE001 - an unreadable body: counted, not crashed on
            name = None
        action = metrics.bounded(name, known)
        outcome = "ok" if response.status < 400 else "error"
        metrics.ACTIONS.labels(action, outcome).inc()
        metrics.ACTION_SECONDS.labels(action).observe(time.perf_counter() - request.ctx.started)

    async def serve_metrics(request: Any) -> Any:
        body, content_type = metrics.exposition()
        return raw(body, content_type=content_type)

    app.register_middleware(started, "request")
    app.register_middleware(finished, "response")
    app.add_route(serve_metrics, "/metrics", methods=["GET"])


def identity_banner(mode: str, secret: str | None) -> str:
    """One line on whose chats this server trusts (docs/identity.md)."""
    if mode == "open":
        return (
            "WARNING: MAKEGOOD_CHAT_IDENTITY=open: an order number names its owner in any chat. "
            "Development only: never run the product this way."
        )
    if not secret:
        return (
            "WARNING: MAKEGOOD_IDENTITY_SECRET is not set: no customer token can be trusted, so every chat is "
            "anonymous (general help and handoffs, no orders)."
        )
    return "chat identity: required (a chat sees only the orders of the customer its signed token names)"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m makegood_rasa.action_server",
        description="Run Makegood's actions server (loopback, shared secret).",
    )
    parser.add_argument("--actions", default="actions", help="the actions package (default %(default)s)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default %(default)s)")
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("MAKEGOOD_ACTIONS_PORT", "5055")),
        help="port (default $MAKEGOOD_ACTIONS_PORT or 5055)",
    )
    parser.add_argument(
        "--workers",
        type=workers_count,
        default=os.environ.get(WORKERS_ENV, "1"),  # a string: argparse checks it like a typed value
        help=f"worker processes sharing the port, each with its own database pool (default ${WORKERS_ENV} or 1)",
    )
    return parser.parse_args(argv)


WORKERS_ENV = "MAKEGOOD_ACTIONS_WORKERS"
MAX_WORKERS = 64


def workers_count(text: str) -> int:
    try:
        count = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"workers must be a whole number, not {text!r}") from None
    if not 1 <= count <= MAX_WORKERS:
        raise argparse.ArgumentTypeError(f"workers must be between 1 and {MAX_WORKERS}, not {count}")
    return count


def share_metrics_between_workers() -> None:
    """Several workers serve one port, so a scrape reaches any one of them: prometheus-client's
    multiprocess mode has every worker write its samples to a directory and /metrics add them
    all up. Must run before prometheus_client is imported. A fresh directory per run (counts
    from a previous run would be added to this one's), removed when the server stops."""
    directory = tempfile.mkdtemp(prefix="makegood-actions-metrics-")
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        print(f"makegood actions server: set {TOKEN_ENV} (scripts/env.sh makes one under var/)", file=sys.stderr)
        return 2
    try:
        from makegood.config import get_settings

        settings = get_settings()
    except Exception as exc:  # noqa: BLE001 - a bad setting: say which, and stop
        print(f"makegood actions server: {exc}", file=sys.stderr)
        return 2
    print(identity_banner(settings.chat_identity, settings.identity_secret), flush=True)
    if args.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        share_metrics_between_workers()
    app = create_app(token, args.actions)
    print(
        f"Makegood actions server on http://{args.host}:{args.port}/ (token required; {args.workers} worker(s))",
        flush=True,
    )
    app.run(host=args.host, port=args.port, workers=args.workers, access_log=False, debug=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
