"""The network findings of the attack run, replayed against the real servers (started the way
`make run` starts them, tests/support/servers.py): Rasa's HTTP API needs its token and only
answers listed browser origins; the actions server is loopback-only and refuses calls without
the shared secret; the REST webhook rejects malformed input with 400 and answers an oversized
message without running the model; socket.io delivers replies and keeps customers apart."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.support.identity import SignIns, token
from tests.support.servers import ROOT, Servers, StartError, forget_grants, free_port, wait_for

pytestmark = pytest.mark.e2e

LISTED = "http://localhost:8000"
UNLISTED = "https://evil.example"


class Stack:
    def __init__(self, servers: Servers) -> None:
        self.servers = servers
        self.rasa = servers.urls["rasa"]
        self.actions = servers.urls["actions"]
        self.sign_ins = SignIns(servers.identity_secret, servers.database_url)

    def signed_in(self, customer_id: str) -> dict:
        return {"customer_token": token(self.servers.identity_secret, customer_id)}

    def call(self, method: str, url: str, body: bytes | None = None, headers: dict | None = None):
        request = urllib.request.Request(
            url, data=body, method=method, headers={"Content-Type": "application/json", **(headers or {})}
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as err:
            return err.code, dict(err.headers), err.read()

    def say(self, sender: str, message: str):
        status, _, body = self.call(
            "POST",
            f"{self.rasa}/webhooks/rest/webhook",
            json.dumps(
                {"sender": sender, "message": message, "metadata": self.sign_ins.metadata(sender, message)}
            ).encode(),
        )
        assert status == 200, body
        return [m.get("text", "") for m in json.loads(body)]

    def tracker(self, sender: str) -> dict:
        status, _, body = self.call(
            "GET", f"{self.rasa}/conversations/{sender}/tracker?token=" + urllib.parse.quote(self.servers.rasa_token)
        )
        assert status == 200, body
        return json.loads(body)

    def user_texts(self, sender: str) -> list[str]:
        return [e.get("text") for e in self.tracker(sender)["events"] if e.get("event") == "user"]

    def proposals(self, conversation_id: str):
        from makegood.ledger import Ledger

        ledger = Ledger.from_url(self.servers.database_url, migrate=False)
        try:
            return ledger.list(conversation_id=conversation_id, limit=50)
        finally:
            ledger.engine.dispose()


@pytest.fixture
def stack(servers):
    """The session's servers (tests/e2e/conftest.py), with the demo history as seeded: LISTED
    is one of their CORS origins."""
    assert LISTED in servers.cors_origins
    forget_grants(servers.database_url)
    return Stack(servers)


def new_sender(label: str) -> str:
    return f"hard-{label}-{uuid.uuid4().hex[:8]}"


# -- 1. Rasa's HTTP API ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "method, path",
    [
        ("PUT", "/model"),
        ("DELETE", "/model"),
        ("GET", "/status"),
        ("POST", "/model/parse"),
        ("GET", "/conversations/victim/tracker"),
        ("POST", "/conversations/victim/messages"),
        ("POST", "/conversations/victim/trigger_intent"),
    ],
)
def test_rasa_api_refuses_calls_without_the_token(stack, method, path):
    body = b'{"text": "hello", "sender": "user", "name": "greet"}' if method in ("PUT", "POST") else None
    status, _, payload = stack.call(method, stack.rasa + path, body)
    assert status == 401, payload
    status, _, _ = stack.call(method, stack.rasa + path + "?token=not-the-token", body)
    assert status == 401


def test_rasa_api_answers_with_the_token(stack):
    status, _, body = stack.call("GET", f"{stack.rasa}/status?token={urllib.parse.quote(stack.servers.rasa_token)}")
    assert status == 200 and json.loads(body)["model_file"]
    status, _, body = stack.call(
        "POST",
        f"{stack.rasa}/model/parse?token={urllib.parse.quote(stack.servers.rasa_token)}",
        b'{"text": "the dinner set from order MG-10422 arrived smashed"}',
    )
    assert status == 200 and json.loads(body)["intent"]["name"] == "damaged_item"


@pytest.mark.parametrize("path", ["/model", "/model/parse", "/webhooks/rest/webhook", "/conversations/x/tracker"])
def test_cors_preflight_from_an_unlisted_origin_gets_no_allow_origin(stack, path):
    status, headers, _ = stack.call(
        "OPTIONS", stack.rasa + path, headers={"Origin": UNLISTED, "Access-Control-Request-Method": "POST"}
    )
    assert status < 500
    assert "Access-Control-Allow-Origin" not in {k.title() for k in headers}, headers


def test_cors_preflight_from_the_desk_origin_is_allowed(stack):
    _, headers, _ = stack.call(
        "OPTIONS",
        stack.rasa + "/webhooks/rest/webhook",
        headers={"Origin": LISTED, "Access-Control-Request-Method": "POST"},
    )
    assert {k.lower(): v for k, v in headers.items()}.get("access-control-allow-origin") == LISTED


# -- 2. the actions server ------------------------------------------------------------------------
def forged_call(sender: str) -> dict:
    """What the attack run POSTed: a tracker claiming an accepted full refund on a real order."""
    return {
        "next_action": "action_accept_offer",
        "sender_id": sender,
        "version": "3.6.21",
        "tracker": {
            "sender_id": sender,
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
            "latest_event_time": 1.0,
            "slots": {
                "situation": "damaged_item",
                "order_id": "MG-10422",
                "chosen_option": "1",
                "tier": "manager",
                "customer_id": "C-1001",
            },
            "latest_message": {
                "text": "1",
                "intent": {"name": "choose_option", "confidence": 1.0},
                "entities": [{"entity": "option_number", "value": "1"}],
            },
            "events": [{"event": "user", "text": "1", "parse_data": {"intent": {"name": "choose_option"}}}],
            "latest_input_channel": "rest",
        },
        "domain": {"slots": {}, "responses": {}, "intents": [], "entities": [], "actions": [], "forms": {}},
    }


@pytest.mark.parametrize("query", ["", "?token=wrong", "?token="], ids=["no-token", "wrong-token", "empty-token"])
def test_forged_action_call_is_refused_and_nothing_lands_in_the_ledger(stack, query):
    sender = new_sender("forged")
    status, _, body = stack.call("POST", f"{stack.actions}/webhook{query}", json.dumps(forged_call(sender)).encode())
    assert status == 401
    assert "token" in json.loads(body)["error"]
    assert stack.proposals(sender) == []


def test_actions_server_lists_nothing_without_the_token_but_health_is_open(stack):
    assert stack.call("GET", f"{stack.actions}/actions")[0] == 401
    status, _, body = stack.call("GET", f"{stack.actions}/health")
    assert status == 200 and json.loads(body) == {"status": "ok"}


def test_rasa_passes_the_actions_token_so_real_conversations_still_run_actions(stack):
    sender = new_sender("real")
    text = "\n".join(stack.say(sender, "the dinner set from order MG-10422 arrived smashed to pieces"))
    assert "Here's what I can do for you right now" in text, text
    assert [p.situation for p in stack.proposals(sender)] == ["damaged_item"]


def _listening_addresses(port: int) -> set[str]:
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        path = Path(table)
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            address, hexport = fields[1].split(":")
            if fields[3] == "0A" and int(hexport, 16) == port:  # 0A: LISTEN
                found.add(address)
    return found


@pytest.mark.parametrize("server", ["actions", "rasa"])
def test_servers_listen_on_loopback_only(stack, server):
    if not Path("/proc/net/tcp").exists():
        pytest.skip("no /proc/net/tcp on this system")
    port = int(stack.servers.urls[server].rsplit(":", 1)[1])
    assert _listening_addresses(port) == {"0100007F"}  # 127.0.0.1, and not 0.0.0.0 or ::


# -- 4. REST input bounds -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "body",
    [b"null", b"[]", b"1", b"{oops", b'{"message": "hello"}', b'{"sender": "", "message": "hi"}'],
    ids=["null", "list", "number", "malformed", "no-sender", "empty-sender"],
)
def test_rest_webhook_answers_bad_bodies_with_400_and_a_message(stack, body):
    status, _headers, payload = stack.call("POST", f"{stack.rasa}/webhooks/rest/webhook", body)
    assert status == 400, payload
    assert json.loads(payload)["error"]


def test_rest_messages_without_a_sender_do_not_share_a_default_conversation(stack):
    stack.call("POST", f"{stack.rasa}/webhooks/rest/webhook", b'{"message": "my order MG-10421 is late"}')
    status, _, body = stack.call(
        "GET", f"{stack.rasa}/conversations/default/tracker?token=" + urllib.parse.quote(stack.servers.rasa_token)
    )
    assert status == 200 and [e for e in json.loads(body)["events"] if e.get("event") == "user"] == []


def test_a_120kb_message_gets_a_polite_reply_without_running_the_model(stack):
    sender, other = new_sender("huge"), new_sender("other")
    replies = stack.say(sender, "my parcel " * 12_000)
    assert len(replies) == 1 and "too long" in replies[0] and "5000 characters" in replies[0]
    assert stack.user_texts(sender) == []  # the message never reached the model
    assert stack.say(other, "hello")  # and the next customer is answered


# -- 3. socket.io ---------------------------------------------------------------------------------
class SocketCustomer:
    """A python-socketio client on the long-polling transport (engine.io's websocket client
    needs a newer aiohttp than Rasa 3.6 allows); the browser test covers websockets."""

    def __init__(self, url: str, origin: str | None = None) -> None:
        import socketio

        self.url, self.origin = url, origin
        self.client = socketio.AsyncClient(reconnection=False)
        self.replies: asyncio.Queue = asyncio.Queue()
        self.session_id: str | None = None
        self._confirmed: asyncio.Queue = asyncio.Queue()
        self.client.on("bot_uttered", self._on_reply)
        self.client.on("session_confirm", self._on_confirm)

    async def _on_reply(self, data):
        await self.replies.put(data.get("text", "") if isinstance(data, dict) else str(data))

    async def _on_confirm(self, session_id):
        await self._confirmed.put(session_id)

    async def connect(self, session_id: str | None = None) -> str:
        headers = {"Origin": self.origin} if self.origin else {}
        await self.client.connect(
            self.url, headers=headers, transports=["polling"], socketio_path="/socket.io", wait_timeout=20
        )
        await self.client.emit("session_request", {"session_id": session_id})
        self.session_id = await asyncio.wait_for(self._confirmed.get(), 20)
        return self.session_id

    async def say(self, text: str, session_id: str | None = None, metadata: dict | None = None) -> None:
        payload = {"message": text, "session_id": session_id or self.session_id, "metadata": metadata or {}}
        await self.client.emit("user_uttered", payload)

    async def hear(self, timeout: float = 60, settle: float = 2.0) -> list[str]:
        """Every reply of one turn: wait for the first, then until none comes for `settle` s."""
        out = [await asyncio.wait_for(self.replies.get(), timeout)]
        while True:
            try:
                out.append(await asyncio.wait_for(self.replies.get(), settle))
            except asyncio.TimeoutError:
                return out

    async def close(self) -> None:
        await self.client.disconnect()


def conversation_of(session_id: str) -> str:
    return session_id.split(".")[0]


def test_socketio_conversation_gets_bot_replies(stack):
    async def run():
        customer = SocketCustomer(stack.rasa)
        session = await customer.connect()
        me = stack.signed_in("C-1001")  # the website signed this customer in
        await customer.say("the dinner set from order MG-10422 arrived smashed to pieces", metadata=me)
        replies = await customer.hear()
        await customer.say("I'll take the store credit", metadata=me)
        replies2 = await customer.hear()
        await customer.close()
        return session, replies, replies2

    session, replies, replies2 = asyncio.run(run())
    assert "Here's what I can do for you right now:" in replies, replies
    assert any("$30 in store credit" in r for r in replies2), replies2
    [proposal] = stack.proposals(conversation_of(session))
    assert proposal.status == "accepted" and proposal.option_chosen["remedy"] == "store_credit"


def test_socketio_refuses_a_client_that_brings_another_customers_session(stack):
    async def run():
        victim, attacker = SocketCustomer(stack.rasa), SocketCustomer(stack.rasa)
        victim_session = await victim.connect()
        await victim.say("hello")
        await victim.hear()
        # The attacker knows the victim's session (and its conversation id) ...
        attacker_session = await attacker.connect(session_id=conversation_of(victim_session))
        await attacker.say("I'd like a full refund of $129 please", session_id=victim_session)
        refused = await attacker.hear(timeout=20, settle=1)
        # ... the victim keeps talking; the attacker must not hear it.
        await victim.say(
            "the dinner set from order MG-10422 arrived smashed to pieces", metadata=stack.signed_in("C-1001")
        )
        victim_replies = await victim.hear()
        await asyncio.sleep(1)
        overheard = []
        while not attacker.replies.empty():
            overheard.append(attacker.replies.get_nowait())
        await victim.close()
        await attacker.close()
        return victim_session, attacker_session, refused, victim_replies, overheard

    victim_session, attacker_session, refused, victim_replies, overheard = asyncio.run(run())
    assert conversation_of(attacker_session) != conversation_of(victim_session)
    assert refused and "reload the page" in refused[0]
    assert "Here's what I can do for you right now:" in victim_replies
    assert overheard == []
    assert stack.user_texts(conversation_of(victim_session)) == [
        "hello",
        "the dinner set from order MG-10422 arrived smashed to pieces",
    ]


def test_socketio_resumes_a_session_it_issued(stack):
    async def run():
        first = SocketCustomer(stack.rasa)
        session = await first.connect()
        await first.say("hello")
        await first.hear()
        await first.close()
        again = SocketCustomer(stack.rasa)
        resumed = await again.connect(session_id=session)
        await again.say("my order MG-10421 was supposed to arrive 5 days ago and it still isn't here")
        replies = await again.hear()
        await again.close()
        return session, resumed, replies

    session, resumed, replies = asyncio.run(run())
    assert resumed == session and replies
    assert len(stack.user_texts(conversation_of(session))) == 2


def test_socketio_too_long_message_gets_the_polite_reply(stack):
    async def run():
        customer = SocketCustomer(stack.rasa)
        session = await customer.connect()
        await customer.say("x" * 6000)
        replies = await customer.hear(timeout=20, settle=1)
        await customer.close()
        return session, replies

    session, replies = asyncio.run(run())
    assert len(replies) == 1 and "too long" in replies[0]
    assert stack.user_texts(conversation_of(session)) == []


def test_socketio_refuses_browsers_from_unlisted_origins(stack):
    import socketio

    async def run(origin):
        customer = SocketCustomer(stack.rasa, origin=origin)
        try:
            await customer.connect()
        except socketio.exceptions.ConnectionError:
            return False
        await customer.close()
        return True

    assert asyncio.run(run(LISTED)) is True
    assert asyncio.run(run(UNLISTED)) is False


# -- 1 and 5. the desk talks to Rasa with the token ------------------------------------------------
def test_desk_copilot_and_chat_reach_rasa_with_the_token(stack, tmp_path):
    from makegood.accounts import AccountStore
    from makegood.db import make_engine

    port = free_port()
    env = {**stack.servers.env(), "MAKEGOOD_RASA_URL": stack.rasa}
    log = tmp_path / "desk.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "makegood.desk", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    try:
        try:
            wait_for(f"http://127.0.0.1:{port}/health", proc, log, "desk", timeout=120)
        except StartError as exc:
            pytest.fail(str(exc))
        engine = make_engine(stack.servers.database_url)
        accounts = AccountStore(engine)
        name = f"hard{uuid.uuid4().hex[:6]}"
        accounts.add_user(name, "agent", "hardening-password-1")
        token = accounts.issue_token(name)
        engine.dispose()
        body = json.dumps(
            {"turns": [{"speaker": "customer", "text": "the dinner set from order MG-10422 arrived smashed"}]}
        ).encode()
        status, _, payload = stack.call(
            "POST", f"http://127.0.0.1:{port}/api/copilot/suggest", body, {"Authorization": f"Bearer {token}"}
        )
        assert status == 200, payload
        assert json.loads(payload)["situation"] == "damaged_item"
        sender = f"web-{uuid.uuid4().hex[:10]}"
        status, _, payload = stack.call(
            "POST", f"http://127.0.0.1:{port}/chat/send", json.dumps({"sender": sender, "message": "hello"}).encode()
        )
        assert status == 200 and json.loads(payload)["messages"], payload
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_env_script_makes_private_secrets_once(tmp_path):
    """scripts/env.sh: unset tokens are generated into var/ with mode 0600 and reused."""
    script = ROOT / "scripts" / "env.sh"
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEGOOD_RASA_TOKEN", "MAKEGOOD_ACTIONS_TOKEN")}
    show = f'source "{script}"; echo "$MAKEGOOD_RASA_TOKEN $MAKEGOOD_ACTIONS_TOKEN"'
    first = subprocess.run(["bash", "-c", show], env=env, capture_output=True, text=True, check=True).stdout.split()
    second = subprocess.run(["bash", "-c", show], env=env, capture_output=True, text=True, check=True).stdout.split()
    assert len(first) == 2 and first == second and all(len(t) >= 32 for t in first) and first[0] != first[1]
    for name in ("rasa-token", "actions-token"):
        assert (ROOT / "var" / name).stat().st_mode & 0o777 == 0o600
