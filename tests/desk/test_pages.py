"""The desk's pages over real HTTP: sign-in, who sees what in the queue, and every decision
path (approve, co-sign, refusals, supervisor approval back to the agent, review)."""

from __future__ import annotations

import html
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from tests.desk.test_api import section

pytestmark = pytest.mark.integration


def text_of(response) -> str:
    return html.unescape(response.text)


def where(client, public_id) -> set:
    """The queue sections of `client` listing `public_id`."""
    page = client.get("/queue").text
    return {
        name
        for name in ("needs-you", "approved", "waiting")
        if f'id="{name}"' in page and public_id in section(page, name)
    }


# -- authentication ---------------------------------------------------------------------------------
PAGES = ["/", "/queue", "/proposals/P-AAAAAA", "/review", "/copilot"]
POSTS = ["/logout", "/proposals/P-AAAAAA/decide", "/proposals/P-AAAAAA/delivered", "/review/P-AAAAAA"]


@pytest.mark.parametrize("path", PAGES)
def test_anonymous_page_requests_go_to_login(world, path):
    r = world.client().get(path)
    assert r.status == 303
    assert r.location.startswith("/login?next=")


@pytest.mark.parametrize("path", POSTS)
def test_anonymous_posts_go_to_login(world, path):
    r = world.client().post_form(path, {"decision": "approve"}, csrf="whatever")
    assert r.status == 303
    assert r.location.startswith("/login")


@pytest.mark.parametrize("path", ["/api/copilot/suggest", "/api/copilot/log", "/api/openapi.json"])
def test_anonymous_api_requests_are_401(world, path):
    client = world.client()
    r = client.get(path) if path.endswith(".json") else client.post_json(path, {}, csrf=False)
    assert r.status == 401
    assert r.json()["error"]


@pytest.mark.parametrize("path", ["/login", "/chat", "/health", "/static/desk.css", "/static/copilot.js"])
def test_public_paths_need_no_sign_in(world, path):
    assert world.client().get(path).status == 200


def test_sign_in_sets_a_strict_http_only_session_cookie(world):
    client = world.client()
    page = client.get("/login")
    assert 'name="csrf_token"' in page.text and 'for="password"' in page.text
    r = client.login("alice", world.passwords["alice"])
    assert r.status == 303 and r.location == "/queue"
    cookie = next(h for h in r.headers.get_all("Set-Cookie") if h.startswith("mg_session="))
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    queue = client.get("/queue")
    assert queue.status == 200 and "alice" in queue.text
    assert queue.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in queue.headers["Content-Security-Policy"]


def test_wrong_password_says_so(world):
    client = world.client()
    r = client.login("alice", "not-her-password")
    assert r.status == 401
    assert "don't match" in text_of(r)
    assert "mg_session" not in client.cookies
    assert client.login("nobody", "whatever-password").status == 401


def test_sign_in_form_needs_its_token(world):
    client = world.client()
    client.get("/login")
    r = client.post_form("/login", {"name": "alice", "password": world.passwords["alice"]}, csrf="forged")
    assert r.status == 403
    assert "mg_session" not in client.cookies


def test_sign_in_returns_to_the_page_asked_for_but_never_off_site(world):
    client = world.client()
    page = client.get("/login?next=/copilot")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    r = client.post_form("/login", {"name": "bob", "password": world.passwords["bob"], "next": "/copilot"}, csrf=token)
    assert r.location == "/copilot"
    client = world.client()
    page = client.get("/login")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    r = client.post_form(
        "/login", {"name": "bob", "password": world.passwords["bob"], "next": "//evil.example/"}, csrf=token
    )
    assert r.location == "/queue"


def test_sign_out_ends_the_session(world):
    client = world.signed_in("bob")
    session = client.cookies["mg_session"]
    r = client.post_form("/logout", {})
    assert r.status == 303 and r.location == "/login"
    other = world.client()
    other.cookies["mg_session"] = session
    assert other.get("/queue").status == 303


def test_forms_need_the_csrf_token(world, alice):
    p = world.handoff()
    r = alice.post_form(f"/proposals/{p.public_id}/decide", {"decision": "approve"}, csrf=False)
    assert r.status == 403
    r = alice.post_form(f"/proposals/{p.public_id}/decide", {"decision": "approve"}, csrf="wrong")
    assert r.status == 403
    assert world.ledger.get(p.public_id).status == "pending"
    assert alice.post_form("/logout", {}, csrf=False).status == 403


# -- deciding ---------------------------------------------------------------------------------------
def decide(client, p, decision, note="", version=None):
    data = {"decision": decision, "note": note}
    if version is not None:
        data["version"] = str(version)
    return client.post_form(f"/proposals/{p.public_id}/decide", data)


def test_agent_approves_an_agent_tier_bot_handoff(world, alice):
    p = world.handoff("agent")
    queue = alice.get("/queue").text
    assert p.public_id in section(queue, "needs-you")
    row = section(queue, "needs-you").split(p.public_id, 1)[1]
    assert "Damaged item" in row and "Full refund of $129" in row and "the bot" in row

    page = alice.get(f"/proposals/{p.public_id}")
    body = text_of(page)
    for shown in (
        "customer insists on $129",
        "Full refund of $129",
        "$25 back to your original payment method",
        "a $10 voucher for the trouble",
        "damaged_item.full_refund",
        "Customer at fault",
        "arrived smashed to pieces",
        "Order value",
    ):
        assert shown in body, shown
    assert 'value="approve"' in body

    r = decide(alice, p, "approve", "refund agreed", version=p.version)
    assert r.status == 303 and r.location == f"/proposals/{p.public_id}"
    after = text_of(alice.get(r.location))
    assert "approved" in after and "refund agreed" in after
    assert world.ledger.get(p.public_id).status == "approved"
    assert where(alice, p.public_id) == set()


def test_peer_request_cosigned_by_a_second_agent(world, alice, bob):
    p = world.request("alice", "peer")
    assert p.public_id in section(alice.get("/queue").text, "waiting")
    assert p.public_id not in section(alice.get("/queue").text, "needs-you")
    assert p.public_id in section(bob.get("/queue").text, "needs-you")
    detail = bob.get(f"/proposals/{p.public_id}").text
    assert 'value="cosign"' in detail

    r = decide(bob, p, "cosign")
    assert r.status == 303
    stored = world.ledger.get(p.public_id)
    assert stored.status == "approved"
    assert [(d.actor, d.decision) for d in stored.decisions] == [("bob", "cosign")]
    # back to alice, to tell the customer
    queue = alice.get("/queue").text
    assert p.public_id in section(queue, "approved")
    r = alice.post_form(f"/proposals/{p.public_id}/delivered", {})
    assert r.status == 303
    assert world.ledger.get(p.public_id).context["delivered_by"] == "alice"
    assert where(alice, p.public_id) == set()


def test_bot_handoff_at_peer_tier_needs_two_agents(world, alice, bob):
    p = world.handoff("peer")
    decide(alice, p, "cosign")
    assert world.ledger.get(p.public_id).status == "pending"
    assert p.public_id in section(alice.get("/queue").text, "waiting")
    assert p.public_id in section(bob.get("/queue").text, "needs-you")
    again = decide(alice, p, "cosign")
    assert again.status == 400 and "already co-signed" in text_of(again)
    decide(bob, p, "cosign")
    assert world.ledger.get(p.public_id).status == "approved"


def test_agent_cannot_cosign_her_own_request(world, alice):
    p = world.request("alice", "peer")
    page = alice.get(f"/proposals/{p.public_id}").text
    assert 'value="cosign"' not in page and "You requested this" in page
    r = decide(alice, p, "cosign")
    assert r.status == 400
    body = text_of(r)
    assert "alice requested" in body and "cannot approve or co-sign" in body
    assert 'role="alert"' in body
    assert world.ledger.get(p.public_id).status == "pending"


def test_agent_cannot_approve_a_supervisor_tier_proposal(world, alice):
    p = world.handoff("supervisor")
    assert p.public_id not in alice.get("/queue").text
    page = alice.get(f"/proposals/{p.public_id}").text
    assert 'value="approve"' not in page
    r = decide(alice, p, "approve")
    assert r.status == 400
    assert "needs a supervisor's decision" in text_of(r)
    assert world.ledger.get(p.public_id).status == "pending"


def test_supervisor_approval_goes_back_to_the_agent(world, alice, sam):
    p = world.request("alice", "supervisor")
    assert p.public_id in section(alice.get("/queue").text, "waiting")
    assert p.public_id in section(sam.get("/queue").text, "needs-you")
    r = decide(sam, p, "approve", "ok for a loyal customer")
    assert r.status == 303
    assert world.ledger.get(p.public_id).status == "approved"
    assert p.public_id in section(alice.get("/queue").text, "approved")
    assert where(sam, p.public_id) == set()


def test_supervisor_queue_holds_everything_up_to_supervisor(world, sam):
    low, peer, high, top = (
        world.handoff("agent"),
        world.handoff("peer"),
        world.handoff("supervisor"),
        world.handoff("manager"),
    )
    needs = section(sam.get("/queue").text, "needs-you")
    assert low.public_id in needs and peer.public_id in needs and high.public_id in needs
    assert top.public_id not in needs


def test_escalation_moves_it_up_a_tier(world, alice, sam):
    p = world.handoff("agent")
    r = decide(alice, p, "escalate", "customer is a long-standing member; over to a colleague")
    assert r.status == 303
    assert world.ledger.get(p.public_id).tier_required == "peer"


def test_reject_needs_a_note(world, alice):
    p = world.handoff("agent")
    r = decide(alice, p, "reject")
    assert r.status == 400 and "needs a note" in text_of(r)
    r = decide(alice, p, "reject", "the order was never paid")
    assert r.status == 303
    assert world.ledger.get(p.public_id).status == "rejected"


def test_a_decision_someone_else_took_first_is_a_friendly_conflict(world, alice, bob):
    p = world.handoff("agent")
    seen = p.version
    decide(bob, p, "approve", version=seen)
    r = decide(alice, p, "approve", version=seen)
    assert r.status == 409
    assert "Someone decided this a moment ago" in text_of(r)
    assert [d.actor for d in world.ledger.get(p.public_id).decisions] == ["bob"]


def test_reviewer_cannot_decide(world, rita):
    p = world.handoff("agent")
    r = decide(rita, p, "approve")
    assert r.status == 403
    assert world.ledger.get(p.public_id).status == "pending"
    assert 'value="approve"' not in rita.get(f"/proposals/{p.public_id}").text


def test_roles_see_only_their_pages(world, alice, rita):
    assert alice.get("/review").status == 403
    assert rita.get("/copilot").status == 403
    assert alice.get("/copilot").status == 200
    assert rita.get("/review").status == 200
    assert "/review" in rita.get("/queue").text
    assert alice.post_form("/review/P-AAAAAA", {"verdict": "upheld"}).status == 403


def test_admin_sees_everything_pending_but_decides_nothing(world):
    ada = world.signed_in("ada")
    p = world.handoff("manager")
    page = ada.get("/queue").text
    assert "Everything pending" in page and p.public_id in section(page, "needs-you")
    assert 'value="approve"' not in ada.get(f"/proposals/{p.public_id}").text
    assert decide(ada, p, "approve").status == 403
    assert ada.get("/review").status == 200


def test_only_the_requester_marks_delivered(world, alice, bob, sam):
    p = world.request("alice", "supervisor")
    decide(sam, p, "approve")
    assert bob.post_form(f"/proposals/{p.public_id}/delivered", {}).status == 403
    assert "delivered_by" not in world.ledger.get(p.public_id).context


def test_unknown_proposal_is_404(alice):
    r = alice.get("/proposals/P-ZZZZZZ")
    assert r.status == 404
    assert "no proposal P-ZZZZZZ" in r.text


# -- review -----------------------------------------------------------------------------------------
def test_reviewer_records_a_verdict(fresh_world):
    w = fresh_world
    p = w.request("alice", "peer")
    w.ledger.decide(p.public_id, actor="bob", role="agent", decision="cosign")
    rita = w.signed_in("rita")
    page = text_of(rita.get("/review"))
    assert p.public_id in page and "Record verdict" in page
    r = rita.post_form(f"/review/{p.public_id}", {"verdict": "overturned"})
    assert r.status == 400 and "needs a note" in text_of(r)
    assert p.public_id in r.text  # still there to review
    r = rita.post_form(f"/review/{p.public_id}", {"verdict": "upheld", "note": "fair call"})
    assert r.status == 303 and r.location == "/review"
    review = w.ledger.get(p.public_id).reviews[0]
    assert (review.reviewer, review.verdict, review.note) == ("rita", "upheld", "fair call")
    assert "Verdict on" in rita.get("/review").text
    assert p.public_id not in rita.get("/review").text
    detail = text_of(rita.get(f"/proposals/{p.public_id}"))
    assert "rita" in detail and "upheld" in detail
    again = rita.post_form(f"/review/{p.public_id}", {"verdict": "upheld"})
    assert again.status == 400 and "already reviewed" in text_of(again)


def test_supervisor_may_review_but_not_their_own_decision(fresh_world):
    w = fresh_world
    p = w.request("alice", "peer")
    w.ledger.decide(p.public_id, actor="sam", role="supervisor", decision="approve")
    sam = w.signed_in("sam")
    r = sam.post_form(f"/review/{p.public_id}", {"verdict": "upheld"})
    assert r.status == 400 and "took part" in text_of(r)


# -- the customer chat ------------------------------------------------------------------------------
def test_chat_says_politely_when_rasa_is_unreachable(world):
    client = world.client()
    page = client.get("/chat")
    assert page.status == 200 and "Chat with us" in page.text
    r = client.post_json("/chat/send", {"sender": "web-test", "message": "hello"}, csrf=False)
    assert r.status == 503
    assert "can't be reached" in r.json()["error"]


def test_chat_relays_to_rasa(world):
    seen = []

    class Rasa(BaseHTTPRequestHandler):
        def do_POST(self):  # http.server API
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append((self.path, body))
            answer = json.dumps(
                [
                    {"recipient_id": body["sender"], "text": "I'm so sorry it arrived damaged."},
                    {
                        "recipient_id": body["sender"],
                        "text": "Which would you prefer?",
                        "buttons": [{"title": "Store credit", "payload": "/choose"}],
                    },
                ]
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    rasa = HTTPServer(("127.0.0.1", 0), Rasa)
    thread = threading.Thread(target=rasa.serve_forever, daemon=True)
    thread.start()
    desk = world.server.app.ctx.desk
    saved = desk.rasa_url
    desk.rasa_url = f"http://127.0.0.1:{rasa.server_address[1]}"
    try:
        r = world.client().post_json("/chat/send", {"sender": "web-abc", "message": "it arrived smashed"}, csrf=False)
    finally:
        desk.rasa_url = saved
        rasa.shutdown()
        rasa.server_close()
    assert r.status == 200, r.text
    # No customer token on the page: the message goes with empty metadata (an anonymous chat).
    assert seen == [("/webhooks/rest/webhook", {"sender": "web-abc", "message": "it arrived smashed", "metadata": {}})]
    messages = r.json()["messages"]
    assert messages[0]["text"] == "I'm so sorry it arrived damaged."
    assert messages[1]["buttons"] == [{"title": "Store credit", "payload": "/choose"}]


@pytest.mark.parametrize(
    "body", [{"sender": "x y", "message": "hi"}, {"sender": "web-1", "message": ""}, {"sender": "web-1"}, ["hi"]]
)
def test_chat_refuses_bad_messages(world, body):
    assert world.client().post_json("/chat/send", body, csrf=False).status == 400
