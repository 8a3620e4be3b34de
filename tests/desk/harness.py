"""A real desk for tests: a fresh SQLite database with the demo customers and accounts, the
real policy catalog, a fake language understanding, and the Sanic app served on a free
loopback port from a background thread with its own event loop. Plus a small urllib client
that keeps cookies and never follows redirects, and helpers that write proposals the way
the bot and the copilot do.

Used by tests/desk (HTTP) and tests/browser (Selenium).
"""

from __future__ import annotations

import asyncio
import dataclasses
import http.cookies
import itertools
import json
import re
import socket
import threading
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher

from makegood.accounts import AccountStore, seed_demo_accounts
from makegood.customers import SqlCustomerStore, seed_demo
from makegood.db import make_engine, migrate
from makegood.desk.app import create_app
from makegood.errors import StoreUnavailable
from makegood.ledger import Ledger, ProposalIn
from makegood.nlp import Entity
from makegood.services.bootstrap import Services
from makegood.services.copilot import Parsed

ROOT = Path(__file__).resolve().parents[2]
_apps = itertools.count(1)

# Keyword -> situation: enough language understanding for tests, no model needed.
KEYWORDS = (
    (("smashed", "broken", "damaged", "cracked"), "damaged_item"),
    (("never arrived", "never came", "lost"), "lost_package"),
    (("late", "still waiting", "not here yet"), "late_delivery"),
    (("wrong item", "not what i ordered", "wrong size"), "wrong_item"),
    (("fee",), "fee_dispute"),
    (("charged twice", "double charge", "billing"), "billing_error"),
)
ORDER_ID = re.compile(r"\bMG[- ]?(\d{5})\b", re.IGNORECASE)


class FakeUnderstanding:
    """Maps text to an intent by keywords and finds order ids by pattern. Records what it read."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.down = False  # True: behave like an unreachable Rasa server

    def parse(self, text: str) -> Parsed:
        if self.down:
            raise StoreUnavailable("the language model at http://rasa.test is not reachable: connection refused")
        self.seen.append(text)
        lowered = text.lower()
        intent = next((situation for words, situation in KEYWORDS if any(w in lowered for w in words)), None)
        entities = [
            Entity(entity="order_id", value=f"MG-{m.group(1)}", start=m.start(), end=m.end(), text=m.group(0))
            for m in ORDER_ID.finditer(text)
        ]
        return Parsed(intent=intent, confidence=0.92 if intent else 0.1, entities=entities)


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(100)
    sock.set_inheritable(True)
    return sock


class DeskServer:
    """Serves a Sanic app on 127.0.0.1 from a daemon thread with its own event loop."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.sock = free_socket()
        self.port = self.sock.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name=f"desk-{self.port}", daemon=True)

    def start(self) -> DeskServer:
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("the desk did not start within 30 s")
        if self._error is not None:
            raise RuntimeError(f"the desk failed to start: {self._error!r}") from self._error
        return self

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        except BaseException as exc:  # noqa: BLE001 - surfaced by start()
            self._error = exc
            self._ready.set()
        finally:
            loop.close()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        server = await self.app.create_server(sock=self.sock, return_asyncio_server=True, access_log=False)
        await server.startup()
        await server.before_start()
        await server.after_start()
        await server.start_serving()
        self._ready.set()
        await self._stop.wait()
        await server.before_stop()
        server.close()
        await server.wait_closed()
        await server.after_stop()

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None and self._loop.is_running():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(15)
        self.sock.close()


@dataclass
class World:
    engine: Any
    ledger: Ledger
    accounts: AccountStore
    services: Services
    understanding: FakeUnderstanding
    passwords: dict[str, str]
    server: DeskServer
    base_url: str
    _n: Any = field(default_factory=lambda: itertools.count(1))

    def client(self) -> Client:
        return Client(self.base_url)

    def signed_in(self, name: str) -> Client:
        client = self.client()
        client.login(name, self.passwords[name])
        return client

    def token(self, name: str) -> str:
        return self.accounts.issue_token(name)

    def fresh_order(self, like: str) -> tuple[str, str]:
        """(order, customer): copies of demo order `like` and its customer, so each test's case
        starts with no grants and no exceptions (the cumulative limits and the exceptions per
        period would otherwise see what earlier tests approved for the demo customer)."""
        customers = self.services.customers
        template = customers.order(like)
        n = 90000 + next(self._n)
        customer = dataclasses.replace(customers.customer(template.customer_id), id=f"C-{n}")
        order = dataclasses.replace(template, id=f"MG-{n}", customer_id=customer.id)
        customers.upsert(customers=[customer], orders=[order])
        return order.id, customer.id

    # -- proposals written the way the bot and the copilot write them ------------------------------
    def handoff(
        self,
        tier: str = "agent",
        *,
        situation: str = "damaged_item",
        order_id: str = "MG-10422",
        customer_id: str = "C-1001",
        ask: Mapping[str, str] | None = None,
        reason: str = "customer insists on $129",
    ) -> Any:
        """A bot handoff: pending at `tier`, requested by "bot", with the context packet."""
        order_id, customer_id = self.fresh_order(order_id)
        n = next(self._n)
        ask = dict(ask or {"remedy": "full_refund", "size": "129.00"})
        packet = {
            "reason": reason,
            "transcript": [
                {"who": "customer", "text": f"the dinner set from order {order_id} arrived smashed to pieces"},
                {"who": "bot", "text": "I'm so sorry it arrived damaged. Let's put that right."},
                {"who": "customer", "text": "I think a full refund of $129 would be fair"},
                {"who": "bot", "text": "$129 is more than I can approve on my own."},
                {"who": "customer", "text": "no, I want the full $129 back"},
            ],
            "offered": [
                {"remedy": "partial_refund", "size": "25.00", "text": "$25 back to your original payment method"},
                {"remedy": "store_credit", "size": "30.00", "text": "$30 in store credit"},
            ],
            "declined": [{"remedy": "goodwill_voucher", "size": "10.00", "text": "a $10 voucher for the trouble"}],
            "customer_ask": ask,
            "rules_cited": ["damaged_item.partial_refund.caps.self_service", "damaged_item.full_refund"],
            "missing_facts": ["customer_at_fault"],
            "replaces": None,
        }
        return self.ledger.log_proposal(
            ProposalIn(
                conversation_id=f"web-{uuid.uuid4().hex[:10]}-{n}",
                turn_key="handoff:3",
                channel="rest",
                situation=situation,
                policy_version=self.services.catalog.version,
                tier_required=tier,
                facts={"order_value": "129.00", "days_since_delivery": 3, "membership": "gold"},
                options_offered=packet["offered"],
                option_chosen=ask,
                customer_ask=ask,
                context=packet,
                requested_by="bot",
                status="pending",
                customer_id=customer_id,
                order_id=order_id,
            )
        )

    def request(self, requested_by: str, tier: str = "peer", *, situation: str = "damaged_item") -> Any:
        """An agent's own request for approval, straight into the ledger."""
        order_id, customer_id = self.fresh_order("MG-10443")
        n = next(self._n)
        chosen = {"remedy": "full_refund", "size": "219.00", "text": "a full refund of $219"}
        return self.ledger.log_proposal(
            ProposalIn(
                conversation_id=f"desk-{requested_by}-{uuid.uuid4().hex[:10]}-{n}",
                turn_key="copilot:1",
                channel="copilot",
                situation=situation,
                policy_version=self.services.catalog.version,
                tier_required=tier,
                facts={"order_value": "219.00", "days_since_delivery": 4},
                option_chosen=chosen,
                context={
                    "transcript": [
                        {"speaker": "customer", "text": "my smart watch arrived with a cracked screen"},
                        {"speaker": "agent", "text": "I'm sorry, let me see what I can do"},
                    ],
                    "reason": f"needs {tier} approval",
                },
                requested_by=requested_by,
                status="pending",
                customer_id=customer_id,
                order_id=order_id,
            )
        )


def make_world(tmp_path: Path, rasa_url: str = "http://127.0.0.1:9") -> World:
    """A running desk on a fresh database; `rasa_url`: a FakeRasa's (default: nothing listens)."""
    # Several Sanic apps start in this process: test mode makes Sanic's start-up code rewriting
    # ("touchup") work from the original methods each time instead of re-rewriting its own output.
    from sanic import Sanic

    Sanic.test_mode = True
    engine = make_engine(f"sqlite:///{tmp_path / 'desk.db'}")
    migrate(engine)
    seed_demo(engine, date.today())
    ledger = Ledger(engine)
    # Cheap Argon2 parameters: the tests sign in often; production uses the library defaults.
    accounts = AccountStore(engine, hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    passwords = {name: password for name, _role, password in seed_demo_accounts(accounts)}
    from makegood.policy import load_catalog

    services = Services(catalog=load_catalog(ROOT / "policy"), ledger=ledger, customers=SqlCustomerStore(engine))
    understanding = FakeUnderstanding()
    app = create_app(
        lambda: services,
        accounts,
        understanding,
        rasa_url=rasa_url,
        name=f"makegood_desk_test_{next(_apps)}_{uuid.uuid4().hex[:6]}",
    )
    server = DeskServer(app).start()
    return World(engine, ledger, accounts, services, understanding, passwords, server, server.base_url)


# -- an HTTP client ---------------------------------------------------------------------------------
class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@dataclass
class Response:
    status: int
    headers: Any
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def location(self) -> str | None:
        return self.headers.get("Location")


CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


class Client:
    """urllib with a cookie dict; never follows redirects; HTTP errors are responses too."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.cookies: dict[str, str] = {}
        self.csrf: str | None = None
        self._opener = urllib.request.build_opener(_NoRedirect)

    def request(
        self, method: str, path: str, *, body: bytes | None = None, headers: Mapping[str, str] | None = None
    ) -> Response:
        all_headers = dict(headers or {})
        if self.cookies:
            all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        req = urllib.request.Request(self.base_url + path, data=body, method=method, headers=all_headers)
        try:
            with self._opener.open(req, timeout=30) as resp:
                response = Response(resp.status, resp.headers, resp.read())
        except urllib.error.HTTPError as err:
            response = Response(err.code, err.headers, err.read())
        self._remember(response)
        return response

    def _remember(self, response: Response) -> None:
        for header in response.headers.get_all("Set-Cookie") or []:
            jar = http.cookies.SimpleCookie()
            jar.load(header)
            for name, morsel in jar.items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        found = CSRF_META.search(response.text) if response.body else None
        if found:
            self.csrf = found.group(1)

    def get(self, path: str, **kwargs: Any) -> Response:
        return self.request("GET", path, **kwargs)

    def post_form(self, path: str, data: Mapping[str, str], *, csrf: Any = True) -> Response:
        fields = dict(data)
        if csrf is True:
            fields["csrf_token"] = self.csrf or ""
        elif csrf:
            fields["csrf_token"] = csrf
        return self.request(
            "POST",
            path,
            body=urllib.parse.urlencode(fields).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )

    def post_json(
        self, path: str, payload: Any = None, *, raw: bytes | None = None, csrf: bool = True, token: str | None = None
    ) -> Response:
        headers = {"Content-Type": "application/json"}
        if csrf and self.csrf:
            headers["X-CSRF-Token"] = self.csrf
        if token:
            headers["Authorization"] = f"Bearer {token}"
        body = raw if raw is not None else json.dumps(payload).encode()
        return self.request("POST", path, body=body, headers=headers)

    def login(self, name: str, password: str) -> Response:
        page = self.get("/login")
        token = CSRF_INPUT.search(page.text).group(1)
        response = self.post_form("/login", {"name": name, "password": password}, csrf=token)
        if response.status == 303:
            self.get("/queue")  # picks up the session's CSRF token
        return response
