"""Makegood's Rasa channels without servers: the REST handler called with a request object,
the socket.io channel's session decisions with a recording stand-in for the socket server,
and the actions server's token check."""

from __future__ import annotations

import asyncio
import json

import pytest

from makegood_rasa import channels
from makegood_rasa.action_server import token_ok
from makegood_rasa.channels import RestChannel, SessionSigner, SocketIOChannel

pytestmark = pytest.mark.unit


class FakeRequest:
    def __init__(self, body: bytes, args: dict | None = None) -> None:
        self.body = body
        self.args = args or {}


class Turns:
    """Stands in for Rasa's message handler: records the turns it was given and answers one line."""

    def __init__(self) -> None:
        self.seen = []

    async def __call__(self, message) -> None:
        self.seen.append(message)
        await message.output_channel.send_text_message(message.sender_id, f"echo: {message.text}")


def post(body: bytes, turns: Turns | None = None, channel: RestChannel | None = None):
    turns = turns if turns is not None else Turns()
    channel = channel or RestChannel()
    res = asyncio.run(channel.handle(FakeRequest(body), turns))
    return res.status, json.loads(res.body)


@pytest.mark.parametrize(
    "body",
    [b"null", b"[]", b"1", b'"hello"', b"{not json", b"", b"\xff\xfe"],
    ids=["null", "list", "number", "string", "malformed", "empty", "not-utf8"],
)
def test_rest_bodies_that_are_not_a_json_object_get_400_with_a_message(body):
    turns = Turns()
    status, payload = post(body, turns)
    assert status == 400
    assert "JSON" in payload["error"]
    assert turns.seen == []


@pytest.mark.parametrize("sender", [None, "", "   ", 42, ["a"]], ids=["missing", "empty", "blank", "number", "list"])
def test_rest_message_without_a_sender_is_refused_not_put_in_a_shared_conversation(sender):
    payload = {"message": "hello"}
    if sender is not None:
        payload["sender"] = sender
    turns = Turns()
    status, body = post(json.dumps(payload).encode(), turns)
    assert status == 400 and '"sender" is required' in body["error"]
    assert turns.seen == []


def test_rest_message_must_be_text():
    status, body = post(json.dumps({"sender": "c-1", "message": {"x": 1}}).encode())
    assert status == 400 and '"message" is required' in body["error"]


def test_rest_metadata_must_be_an_object():
    status, body = post(json.dumps({"sender": "c-1", "message": "hi", "metadata": [1]}).encode())
    assert status == 400 and "metadata" in body["error"]


def test_rest_too_long_message_gets_a_polite_reply_without_running_the_model(monkeypatch):
    monkeypatch.setenv("MAKEGOOD_MAX_MESSAGE_CHARS", "100")
    turns = Turns()
    status, replies = post(json.dumps({"sender": "c-1", "message": "x" * 101}).encode(), turns)
    assert status == 200
    assert replies == [{"recipient_id": "c-1", "text": channels.too_long_reply(100)}]
    assert "too long" in replies[0]["text"] and "100 characters" in replies[0]["text"]
    assert turns.seen == []


def test_rest_default_limit_is_5000_characters(monkeypatch):
    monkeypatch.delenv("MAKEGOOD_MAX_MESSAGE_CHARS", raising=False)
    turns = Turns()
    status, replies = post(json.dumps({"sender": "c-1", "message": "a" * 5000}).encode(), turns)
    assert status == 200 and replies[0]["text"].startswith("echo: ") and len(turns.seen) == 1
    status, replies = post(json.dumps({"sender": "c-1", "message": "a" * 5001}).encode(), turns)
    assert "too long" in replies[0]["text"] and len(turns.seen) == 1


def test_rest_huge_body_is_refused_before_it_is_parsed(monkeypatch):
    monkeypatch.setenv("MAKEGOOD_MAX_MESSAGE_CHARS", "10")
    status, body = post(b'{"sender": "c", "message": "' + b"x" * 2_000_000 + b'"}')
    assert status == 413 and "too large" in body["error"]


def test_rest_bad_limit_setting_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("MAKEGOOD_MAX_MESSAGE_CHARS", "lots")
    with pytest.raises(ValueError, match="MAKEGOOD_MAX_MESSAGE_CHARS"):
        RestChannel()


def test_rest_good_turn_reaches_rasa_with_its_sender_and_the_rest_channel_name():
    turns = Turns()
    status, replies = post(json.dumps({"sender": "c-7", "message": "hello", "input_channel": "forged"}).encode(), turns)
    assert status == 200 and replies == [{"recipient_id": "c-7", "text": "echo: hello"}]
    assert turns.seen[0].sender_id == "c-7" and turns.seen[0].input_channel == "rest"


def test_rest_a_failing_turn_still_answers_200_not_500():
    async def broken(message):
        raise RuntimeError("boom")

    res = asyncio.run(RestChannel().handle(FakeRequest(b'{"sender": "c", "message": "hi"}'), broken))
    assert res.status == 200 and json.loads(res.body) == [{"recipient_id": "c", "text": channels.NO_REPLY}]


def test_rest_a_turn_with_no_reply_is_never_silence():
    """Found: with the actions server killed, Rasa answered 200 [] and the customer heard nothing."""

    async def silent(message):
        return None

    status, replies = post(b'{"sender": "c", "message": "I will take the store credit"}', silent)
    assert status == 200 and replies[0]["text"] == channels.NO_REPLY and "agent" in replies[0]["text"]


@pytest.mark.parametrize(
    "body",
    [
        b'{"sender": "\\ud800", "message": "hi"}',
        b'{"sender": "c", "message": "hi \\udfff"}',
        b'{"sender":"x","message":"hi","metadata":' + b"[" * 5000 + b"]" * 5000 + b"}",
    ],
    ids=["lone-surrogate-sender", "lone-surrogate-message", "deep-nesting"],
)
def test_rest_bodies_no_store_can_write_get_400_not_a_dead_server(body):
    """Found: a lone surrogate in the sender made the SQL tracker store stop Rasa altogether;
    5,000 levels of nesting gave Sanic's 500 page."""
    turns = Turns()
    status, reply = post(body, turns)
    assert status == 400 and "error" in reply and not turns.seen


def test_rest_channel_keeps_rasas_url():
    assert RestChannel.name() == "rest" and RestChannel().url_prefix() == "rest"  # mounted under /webhooks/


# -- socket.io ------------------------------------------------------------------------------------
class FakeSio:
    def __init__(self) -> None:
        self.emitted = []

    async def emit(self, event, data=None, room=None, **kwargs):
        self.emitted.append((event, data, room))


def socket_channel(**env) -> SocketIOChannel:
    channel = SocketIOChannel(session_persistence=True)
    channel.sio = FakeSio()
    return channel


def test_session_ids_are_issued_signed_and_others_are_not_honoured():
    signer = SessionSigner(b"k" * 32)
    session_id, conversation = signer.issue()
    assert signer.verify(session_id) == conversation
    assert signer.verify(conversation) is None  # the bare conversation id is not a session id
    assert signer.verify(conversation + ".0123456789abcdef0123456789abcdef") is None
    assert signer.verify("demo-1") is None and signer.verify(None) is None
    assert SessionSigner(b"j" * 32).verify(session_id) is None


def test_a_socket_that_names_another_customers_session_gets_a_new_one():
    channel = socket_channel()
    victim_session, victim_conversation = channel.open_session("sid-victim", {})
    # A bare conversation id (e.g. seen in a transcript) or a made-up one is not honoured ...
    for guess in (victim_conversation, "demo-1"):
        session_id, conversation = channel.open_session("sid-attacker", {"session_id": guess})
        assert conversation != victim_conversation and session_id != victim_session
    # ... and a message naming the victim's session from another socket is refused.
    turns = Turns()
    asyncio.run(channel.on_user_message("sid-attacker", {"message": "refund me", "session_id": victim_session}, turns))
    assert turns.seen == []
    assert channel.sio.emitted == [("bot_uttered", {"text": channels.SESSION_REFUSED}, "sid-attacker")]


def test_a_socket_resumes_its_own_session_after_reconnecting():
    channel = socket_channel()
    session_id, conversation = channel.open_session("sid-1", {})
    assert channel.open_session("sid-2", {"session_id": session_id}) == (session_id, conversation)
    turns = Turns()
    asyncio.run(channel.on_user_message("sid-2", {"message": "hello", "session_id": session_id}, turns))
    assert [m.sender_id for m in turns.seen] == [conversation]
    assert channel.sio.emitted == [("bot_uttered", {"text": "echo: hello"}, conversation)]


def test_a_message_before_any_session_request_is_refused():
    channel = socket_channel()
    turns = Turns()
    asyncio.run(channel.on_user_message("sid-x", {"message": "hi", "session_id": "sio-abc"}, turns))
    assert turns.seen == [] and channel.sio.emitted[0][2] == "sid-x"


@pytest.mark.parametrize("data", [None, [], "hi", {"message": 5}, {"message": ""}])
def test_socket_messages_that_are_not_text_are_answered_not_run(data):
    channel = socket_channel()
    channel.open_session("sid-1", {})
    turns = Turns()
    asyncio.run(channel.on_user_message("sid-1", data, turns))
    assert turns.seen == [] and len(channel.sio.emitted) == 1 and "could not read" in channel.sio.emitted[0][1]["text"]


def test_socket_too_long_message_gets_the_polite_reply(monkeypatch):
    monkeypatch.setenv("MAKEGOOD_MAX_MESSAGE_CHARS", "50")
    channel = socket_channel()
    session_id, _ = channel.open_session("sid-1", {})
    turns = Turns()
    asyncio.run(channel.on_user_message("sid-1", {"message": "y" * 51, "session_id": session_id}, turns))
    assert turns.seen == [] and channel.sio.emitted == [("bot_uttered", {"text": channels.too_long_reply(50)}, "sid-1")]


def test_socket_connections_from_unlisted_browser_origins_are_refused(monkeypatch):
    monkeypatch.setenv("MAKEGOOD_CORS_ORIGINS", "http://localhost:8000, https://shop.example")
    channel = SocketIOChannel(session_persistence=True)
    assert channel.may_connect({"HTTP_ORIGIN": "https://shop.example"}, None)
    assert channel.may_connect({}, None)  # not a browser: no Origin header
    assert not channel.may_connect({"HTTP_ORIGIN": "https://evil.example"}, None)


def test_default_origins_are_the_desks(monkeypatch):
    monkeypatch.delenv("MAKEGOOD_CORS_ORIGINS", raising=False)
    assert channels.allowed_origins() == ("http://localhost:8000", "http://127.0.0.1:8000")


def test_socket_channel_keeps_rasas_name():
    assert SocketIOChannel.name() == "socketio"


def test_actions_token_compare():
    assert token_ok("s3cret", "s3cret")
    assert not token_ok("s3cret", "s3cre") and not token_ok("s3cret", None) and not token_ok("", "")


def test_rest_a_chat_waiting_for_a_person_hears_its_case_is_with_a_colleague():
    """Found: after a handoff the conversation is paused and every later message got silence."""
    from types import SimpleNamespace

    from rasa.shared.core.events import ActionExecuted, BotUttered, ConversationPaused, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    tracker = DialogueStateTracker.from_events(
        "c",
        [
            ActionExecuted("action_listen"),
            UserUttered("I want a person"),
            BotUttered("I've passed your case to a colleague. Your reference is P-9PR6MV."),
            ConversationPaused(),
        ],
    )

    class Store:
        async def retrieve(self, sender):
            return tracker

    request = FakeRequest(b'{"sender": "c", "message": "hello? anyone?"}')
    request.app = SimpleNamespace(ctx=SimpleNamespace(agent=SimpleNamespace(tracker_store=Store())))

    async def paused(message):
        return None  # Rasa says nothing while the conversation is paused

    res = asyncio.run(RestChannel().handle(request, paused))
    [reply] = json.loads(res.body)
    assert "with a colleague (reference P-9PR6MV)" in reply["text"] and "repeat yourself" in reply["text"]
