"""The live inbox over HTTP: a real desk (tests/desk/harness.py) talking to a fake Rasa on a
loopback port (tests/support/fake_rasa.py) that records every event the desk appends."""

from __future__ import annotations

import json
import threading
import urllib.request
import uuid

import pytest

from makegood.desk import live
from makegood.desk.rasa_api import RasaApi
from makegood.services.conversations import MAX_MESSAGE
from tests.desk.harness import make_world
from tests.support.fake_rasa import HANDOFF_REPLY

ROUTES = [
    ("GET", "/api/conversations"),
    ("GET", "/api/conversations/{id}"),
    ("POST", "/api/conversations/{id}/claim"),
    ("POST", "/api/conversations/{id}/messages"),
    ("POST", "/api/conversations/{id}/release"),
]
WRITES = [r for r in ROUTES if r[0] == "POST"]


@pytest.fixture(scope="module")
def world(tmp_path_factory, rasa):
    w = make_world(tmp_path_factory.mktemp("live"), rasa.url)
    yield w
    w.server.stop()
    w.engine.dispose()


@pytest.fixture
def chat(world, rasa):
    """A conversation the bot just handed over: its handoff proposal in the ledger, the pause in
    Rasa's tracker, and the live inbox's record, as the actions server leaves them."""
    proposal = world.handoff()
    cid = proposal.conversation_id
    rasa.add(cid, {"event": "user", "text": "the dinner set arrived smashed"})
    rasa.hand_over(cid)
    world.services.conversations.hand_over(
        cid, proposal_id=proposal.public_id, reason="customer insists on $129", customer_id=proposal.customer_id
    )
    return cid


@pytest.fixture
def tokens(world):
    return {name: world.token(name) for name in ("alice", "bob", "sam", "rita", "ada")}


def call(world, method, path, token=None, payload=None, raw=None):
    client = world.client()
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if method == "GET":
        return client.get(path, headers=headers)
    body = raw if raw is not None else json.dumps(payload if payload is not None else {"text": "hello"}).encode()
    return client.request(method, path, body=body, headers={"Content-Type": "application/json", **headers})


def appended_to(rasa, cid):
    return [events for conversation, _query, events in rasa.appended if conversation == cid]


def stored(world, cid):
    return [m.text for m in world.services.conversations.messages_after(cid)]


# -- who may ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_every_route_needs_sign_in(world, chat, method, path):
    response = call(world, method, path.format(id=chat))
    assert response.status == 401 and "sign in" in response.json()["error"]


@pytest.mark.parametrize(("method", "path"), WRITES)
@pytest.mark.parametrize("name", ["rita", "ada"])
def test_reviewers_and_admins_may_read_but_not_work_a_conversation(world, chat, tokens, rasa, method, path, name):
    response = call(world, method, path.format(id=chat), tokens[name])
    assert response.status == 403 and "agents and supervisors" in response.json()["error"]
    assert call(world, "GET", f"/api/conversations/{chat}", tokens[name]).status == 200
    assert world.services.conversations.get(chat).state == "waiting" and appended_to(rasa, chat) == []


@pytest.mark.parametrize(("method", "path"), WRITES)
def test_session_writes_without_the_csrf_header_are_refused(world, chat, alice, rasa, method, path):
    response = alice.post_json(path.format(id=chat), {"text": "hi"}, csrf=False)
    assert response.status == 403 and "CSRF" in response.json()["error"]
    assert world.services.conversations.get(chat).state == "waiting" and appended_to(rasa, chat) == []


def test_with_the_session_and_its_csrf_header_an_agent_claims(world, chat, alice):
    response = alice.post_json(f"/api/conversations/{chat}/claim", {})
    assert response.status == 200 and response.json()["conversation"]["owner"] == "alice"


# -- the inbox and the conversation ------------------------------------------------------------------
def test_the_inbox_lists_waiting_mine_and_all(world, chat, tokens):
    waiting = call(world, "GET", "/api/conversations?state=waiting", tokens["alice"]).json()["conversations"]
    assert chat in [c["conversation_id"] for c in waiting]
    call(world, "POST", f"/api/conversations/{chat}/claim", tokens["alice"])
    mine = call(world, "GET", "/api/conversations?state=mine", tokens["alice"]).json()["conversations"]
    assert [c["conversation_id"] for c in mine if c["conversation_id"] == chat] == [chat]
    assert chat not in [
        c["conversation_id"]
        for c in call(world, "GET", "/api/conversations?state=mine", tokens["bob"]).json()["conversations"]
    ]
    bad = call(world, "GET", "/api/conversations?state=everything", tokens["alice"])
    assert bad.status == 400 and "unknown state" in bad.json()["error"]


def test_the_conversation_carries_transcript_packet_and_proposals(world, chat, tokens):
    call(world, "POST", f"/api/conversations/{chat}/claim", tokens["alice"])
    call(world, "POST", f"/api/conversations/{chat}/messages", tokens["alice"], {"text": "Let me look at the order"})
    details = call(world, "GET", f"/api/conversations/{chat}", tokens["alice"]).json()
    assert [(t["speaker"], t["text"]) for t in details["transcript"]] == [
        ("customer", "the dinner set arrived smashed"),
        ("bot", HANDOFF_REPLY),
        ("agent", "Hi, I'm Alice, I'm looking at your case now."),
        ("agent", "Let me look at the order"),
    ]
    packet = details["case"]["packet"]
    assert packet["customer_ask"] == {"remedy": "full_refund", "size": "129.00"}
    assert packet["offered"] and packet["declined"]
    assert details["conversation"]["handoff_proposal_id"] in [p["public_id"] for p in details["proposals"]]
    assert details["attachments"] == [] and details["may_work"] is True


def test_an_unknown_conversation_is_404_and_a_malformed_id_400(world, tokens):
    assert call(world, "GET", "/api/conversations/web-nobody", tokens["alice"]).status == 404
    assert call(world, "POST", "/api/conversations/web-nobody/claim", tokens["alice"]).status == 404
    assert call(world, "GET", "/api/conversations/bad%20id", tokens["alice"]).status == 400


# -- claiming -----------------------------------------------------------------------------------------
def test_a_claim_tells_the_customer_who_is_there_through_rasa(world, chat, tokens, rasa):
    response = call(world, "POST", f"/api/conversations/{chat}/claim", tokens["bob"])
    assert response.status == 200
    [(_conversation, query, events)] = [a for a in rasa.appended if a[0] == chat]
    assert query["execute_side_effects"] == ["true"] and query["output_channel"] == ["latest"]
    assert events == [
        {
            "event": "bot",
            "text": "Hi, I'm Bob, I'm looking at your case now.",
            "metadata": {"makegood_agent": "bob", "agent_name": "Bob"},
        }
    ]
    assert stored(world, chat) == ["Hi, I'm Bob, I'm looking at your case now."]


def test_a_second_claim_is_409_and_changes_nothing(world, chat, tokens, rasa):
    assert call(world, "POST", f"/api/conversations/{chat}/claim", tokens["alice"]).status == 200
    second = call(world, "POST", f"/api/conversations/{chat}/claim", tokens["bob"])
    assert second.status == 409 and "alice already claimed it" in second.json()["error"]
    assert world.services.conversations.get(chat).owner == "alice" and len(appended_to(rasa, chat)) == 1


def test_racing_claims_over_http_have_exactly_one_winner(world, chat, tokens, rasa):
    names = ["alice", "bob", "sam"]
    start = threading.Barrier(len(names))
    statuses = {}

    def claim(name):
        start.wait()
        statuses[name] = call(world, "POST", f"/api/conversations/{chat}/claim", tokens[name]).status

    threads = [threading.Thread(target=claim, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    winners = [n for n, status in statuses.items() if status == 200]
    assert len(winners) == 1 and sorted(statuses.values()) == [200, 409, 409]
    assert world.services.conversations.get(chat).owner == winners[0]
    assert len(appended_to(rasa, chat)) == 1  # one intro: the losers told the customer nothing


# -- writing ----------------------------------------------------------------------------------------
def test_the_owner_writes_to_the_customer_as_a_bot_event_naming_them(world, chat, tokens, rasa):
    call(world, "POST", f"/api/conversations/{chat}/claim", tokens["alice"])
    response = call(world, "POST", f"/api/conversations/{chat}/messages", tokens["alice"], {"text": " I see it. "})
    assert response.status == 201 and response.json()["message"]["text"] == "I see it."
    assert appended_to(rasa, chat)[-1] == [
        {"event": "bot", "text": "I see it.", "metadata": {"makegood_agent": "alice", "agent_name": "Alice"}}
    ]
    assert stored(world, chat)[-1] == "I see it."


def test_writing_to_a_conversation_you_do_not_own_is_403(world, chat, tokens, rasa):
    not_yet = call(world, "POST", f"/api/conversations/{chat}/messages", tokens["alice"])
    assert not_yet.status == 403 and "claim" in not_yet.json()["error"]
    call(world, "POST", f"/api/conversations/{chat}/claim", tokens["alice"])
    other = call(world, "POST", f"/api/conversations/{chat}/messages", tokens["bob"], {"text": "me too"})
    assert other.status == 403 and "alice" in other.json()["error"]
    assert stored(world, chat) == ["Hi, I'm Alice, I'm looking at your case now."]
    assert len(appended_to(rasa, chat)) == 1


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b"[]", b'{"text": ""}', b'{"text": "   "}', b'{"text": 42}', b"{}", b""],
    ids=["malformed", "list", "empty", "blank", "number", "missing", "no-body"],
)
def test_bad_message_bodies_are_400_and_nothing_is_sent(world, chat, tokens, rasa, raw):
    call(world, "POST", f"/api/conversations/{chat}/claim", tokens["alice"])
    response = call(world, "POST", f"/api/conversations/{chat}/messages", tokens["alice"], raw=raw)
    assert response.status == 400 and response.json()["error"]
    assert len(appended_to(rasa, chat)) == 1 and len(stored(world, chat)) == 1


def test_a_message_longer_than_the_limit_is_400(world, chat, tokens, rasa):
    call(world, "POST", f"/api/conversations/{chat}/claim", tokens["alice"])
    response = call(
        world, "POST", f"/api/conversations/{chat}/messages", tokens["alice"], {"text": "x" * (MAX_MESSAGE + 1)}
    )
    assert response.status == 400 and "too long" in response.json()["error"]
    assert len(appended_to(rasa, chat)) == 1


# -- Rasa down ----------------------------------------------------------------------------------------
@pytest.fixture
def rasa_down(world):
    world.server.app.ctx.rasa_api = RasaApi("http://127.0.0.1:9", timeout=2)  # nothing listens there
    yield
    world.server.app.ctx.rasa_api = None


def test_rasa_unreachable_on_a_message_is_503_and_nothing_is_stored(world, chat, tokens, rasa_down):
    world.services.conversations.claim(chat, "alice")
    response = call(world, "POST", f"/api/conversations/{chat}/messages", tokens["alice"], {"text": "are you there?"})
    assert response.status == 503 and "cannot be reached" in response.json()["error"]
    assert stored(world, chat) == []


def test_rasa_unreachable_on_a_claim_is_503_and_the_claim_is_undone(world, chat, tokens, rasa_down):
    response = call(world, "POST", f"/api/conversations/{chat}/claim", tokens["alice"])
    assert response.status == 503 and "cannot be reached" in response.json()["error"]
    conversation = world.services.conversations.get(chat)
    assert (conversation.state, conversation.owner) == ("waiting", None) and stored(world, chat) == []


def test_rasa_unreachable_on_release_is_503_and_the_agent_keeps_the_chat(world, chat, tokens, rasa_down):
    world.services.conversations.claim(chat, "alice")
    response = call(world, "POST", f"/api/conversations/{chat}/release", tokens["alice"])
    assert response.status == 503
    assert world.services.conversations.get(chat).state == "claimed" and stored(world, chat) == []


def test_rasa_unreachable_still_opens_the_conversation_with_its_packet(world, chat, tokens, rasa_down):
    details = call(world, "GET", f"/api/conversations/{chat}", tokens["alice"]).json()
    assert details["transcript"] == [] and "cannot be reached" in details["transcript_error"]
    assert details["case"]["packet"]["reason"]


# -- handing back --------------------------------------------------------------------------------------
def test_release_resumes_rasa_with_a_line_and_only_the_owner_may(world, chat, tokens, rasa):
    call(world, "POST", f"/api/conversations/{chat}/claim", tokens["alice"])
    assert call(world, "POST", f"/api/conversations/{chat}/release", tokens["bob"]).status == 403
    response = call(world, "POST", f"/api/conversations/{chat}/release", tokens["alice"])
    assert response.status == 200 and response.json()["conversation"]["state"] == "released"
    assert appended_to(rasa, chat)[-1] == [
        {"event": "resume"},
        {"event": "bot", "text": live.BACK_TO_BOT},
        {"event": "action", "name": "action_listen"},
    ]
    assert rasa.paused(chat) is False
    assert stored(world, chat)[-1] == live.BACK_TO_BOT
    assert call(world, "POST", f"/api/conversations/{chat}/messages", tokens["alice"]).status == 403


# -- the customer's push ----------------------------------------------------------------------------
def read_stream(world, sender, last_event_id=None):
    headers = {"Accept": "text/event-stream"}
    if last_event_id is not None:
        headers["Last-Event-ID"] = str(last_event_id)
    request = urllib.request.Request(f"{world.base_url}/chat/events?sender={sender}", headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.headers["Content-Type"].startswith("text/event-stream")
        text = response.read().decode()
    events = []
    for block in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "event" in fields:
            events.append((fields["event"], fields.get("id"), json.loads(fields["data"])))
    return events


@pytest.fixture
def short_streams(monkeypatch):
    monkeypatch.setattr(live, "STREAM_S", 0.5)


def test_the_chat_page_is_pushed_who_answers_and_what_they_wrote(world, chat, tokens, short_streams):
    assert read_stream(world, chat) == [("state", None, {"state": "waiting", "agent_name": None})]
    call(world, "POST", f"/api/conversations/{chat}/claim", tokens["alice"])
    call(world, "POST", f"/api/conversations/{chat}/messages", tokens["alice"], {"text": "Found your order"})
    events = read_stream(world, chat)
    assert events[0] == ("state", None, {"state": "claimed", "agent_name": "Alice"})
    assert [(e[0], e[2]["text"], e[2]["agent_name"]) for e in events[1:]] == [
        ("message", "Hi, I'm Alice, I'm looking at your case now.", "Alice"),
        ("message", "Found your order", "Alice"),
    ]
    first_id = int(events[1][1])
    resumed = read_stream(world, chat, last_event_id=first_id)
    assert [e[2]["text"] for e in resumed if e[0] == "message"] == ["Found your order"]


def test_a_chat_nobody_took_over_gets_one_state_event_and_no_stream(world):
    assert read_stream(world, f"web-{uuid.uuid4().hex[:8]}") == [("state", None, {"state": "none", "agent_name": None})]
    bad = world.client().get("/chat/events?sender=not%20valid")
    assert bad.status == 400


# -- the bot's side: a handoff lands in the inbox ----------------------------------------------------
def test_the_bots_handoff_records_a_waiting_conversation(world):
    from makegood.services.bot.resolution import Assistant, Turn

    cid = f"web-{uuid.uuid4().hex[:10]}"
    turn = Turn(
        conversation_id=cid,
        channel="rest",
        situation=None,
        slots={},
        stage=None,
        text="I want to talk to a person",
        entities=[],
        user_turns=1,
    )
    reply = Assistant(world.services).handoff(turn)
    assert reply.pause is True
    conversation = world.services.conversations.get(cid)
    assert conversation.state == "waiting" and conversation.handoff_proposal_id == reply.proposal_id
    assert conversation.reason == "customer asked for a person"


# -- the REST channel: no "with a colleague" filler once a person writes -----------------------------
def _no_reply_for(events):
    import asyncio
    from types import SimpleNamespace

    from rasa.shared.core.trackers import DialogueStateTracker

    from makegood_rasa import channels

    tracker = DialogueStateTracker.from_events("web-c", events)

    class Store:
        async def retrieve(self, sender):
            return tracker

    request = SimpleNamespace(app=SimpleNamespace(ctx=SimpleNamespace(agent=SimpleNamespace(tracker_store=Store()))))
    return asyncio.run(channels._no_reply(request, "web-c"))


def test_the_rest_channel_stops_the_waiting_filler_once_an_agent_has_written():
    from rasa.shared.core.events import BotUttered, ConversationPaused, UserUttered

    handed = [
        UserUttered("I want a person"),
        BotUttered("A person will pick up (reference P-ABCDEF)"),
        ConversationPaused(),
    ]
    assert "with a colleague" in _no_reply_for([*handed, UserUttered("hello?")])
    intro = BotUttered("Hi, I'm Alice", metadata={"makegood_agent": "alice"})
    assert _no_reply_for([*handed, intro, UserUttered("thanks")]) is None
    # Handed over again later (a new pause after the agent's words): the filler is back.
    assert "with a colleague" in _no_reply_for([*handed, intro, ConversationPaused(), UserUttered("hi")])


def test_the_photos_the_customer_sent_come_with_the_conversation(world, chat, tokens, tmp_path):
    import io

    from PIL import Image

    from makegood.services.attachments import Attachments, FileStore

    image = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(image, format="PNG")
    added = Attachments(world.ledger, FileStore(tmp_path)).add(chat, image.getvalue())
    photos = call(world, "GET", f"/api/conversations/{chat}", tokens["alice"]).json()["attachments"]
    assert [(p["sha256"], p["url"]) for p in photos] == [
        (added.attachment.sha256, f"/attachments/{added.attachment.sha256}")
    ]
