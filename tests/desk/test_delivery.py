"""Who tells the customer about a decision on a request made in a live chat (services/delivery.py),
over HTTP: a real desk (tests/desk/harness.py) and a fake Rasa (tests/support/fake_rasa.py) that
records every event the desk appends.

Approved: the agent who owns the chat tells the customer, and sending it marks the proposal
delivered. Rejected by a supervisor: that supervisor tells the customer, in the chat, with what the
agent can offer instead; nobody else may deliver that no.
"""

from __future__ import annotations

import json
import urllib.request

import pytest

from makegood.desk import live
from makegood.ledger import ProposalIn
from tests.desk.harness import make_world

ASK = {
    "remedy": "full_refund",
    "size": "129.00",
    "kind": "money",
    "required_tier": "peer",
    "text": "a full refund of $129 to your original payment method",
}
IN_AUTHORITY = [
    {"remedy": "partial_refund", "size": "38.70", "kind": "money", "required_tier": "agent", "text": "$38.70 back"},
    {"remedy": "store_credit", "size": "51.60", "kind": "money", "required_tier": "agent", "text": "$51.60 in credit"},
    {"remedy": "store_credit", "size": "30.00", "kind": "money", "required_tier": "agent", "text": "$30 in credit"},
]
BEYOND_THE_AGENT = {"remedy": "replacement", "size": "129.00", "required_tier": "supervisor", "text": "a new set"}


@pytest.fixture(scope="module")
def world(tmp_path_factory, rasa):
    w = make_world(tmp_path_factory.mktemp("delivery"), rasa.url)
    yield w
    w.server.stop()
    w.engine.dispose()


@pytest.fixture
def chat(world, rasa):
    """A handed-over conversation that alice has taken."""
    handoff = world.handoff()
    cid = handoff.conversation_id
    rasa.add(cid, {"event": "user", "text": "the dinner set arrived smashed"})
    rasa.hand_over(cid)
    world.services.conversations.hand_over(
        cid, proposal_id=handoff.public_id, reason="customer insists on $129", customer_id=handoff.customer_id
    )
    world.services.conversations.claim(cid, "alice")
    return handoff


def ask_for(world, chat, tier="peer", requested_by="alice"):
    """alice's request for approval from the chat, as the copilot logs it."""
    return world.ledger.log_proposal(
        ProposalIn(
            conversation_id=chat.conversation_id,
            turn_key=f"copilot:{tier}:{requested_by}",
            channel="copilot",
            situation="damaged_item",
            policy_version=world.services.catalog.version,
            tier_required=tier,
            facts=chat.facts,
            options_offered=[*IN_AUTHORITY, ASK, BEYOND_THE_AGENT],
            option_chosen={**ASK, "required_tier": tier},
            context={"reason": f"needs {tier} approval"},
            requested_by=requested_by,
            status="pending",
            customer_id=chat.customer_id,
            order_id=chat.order_id,
        )
    )


def decide(client, p, decision):
    note = "over the limit for this order" if decision == "reject" else ""  # a rejection needs its reason
    return client.post_form(
        f"/proposals/{p.public_id}/decide", {"decision": decision, "version": str(p.version), "note": note}
    )


def details(client, cid):
    response = client.get(f"/api/conversations/{cid}")
    assert response.status == 200
    return response.json()


def deliver(client, cid, p, text="Good news", **extra):
    return client.post_json(f"/api/conversations/{cid}/deliveries", {"proposal_id": p.public_id, "text": text, **extra})


def appended_texts(rasa, cid):
    return [e.get("text") for conversation, _q, events in rasa.appended if conversation == cid for e in events]


def stored(world, cid):
    return [(m.author, m.text) for m in world.services.conversations.messages_after(cid)]


# -- approved: the owner tells -------------------------------------------------------------------------
def test_an_approval_shows_for_the_agent_who_owns_the_chat_only(world, chat, alice, bob, sam):
    cid = chat.conversation_id
    p = ask_for(world, chat)
    assert details(alice, cid)["tellings"] == []  # pending: nothing to tell yet
    assert decide(bob, p, "cosign").status == 303

    [telling] = details(alice, cid)["tellings"]
    assert telling["proposal_id"] == p.public_id and telling["outcome"] == "approved"
    assert (telling["decided_by"], telling["teller"], telling["mine"]) == ("bob", "alice", True)
    assert ASK["text"] in telling["wording"] and telling["wording"].startswith("Good news")
    for other in (bob, sam):
        [seen] = details(other, cid)["tellings"]
        assert seen["mine"] is False and seen["teller"] == "alice"


def test_the_owners_delivery_reaches_the_chat_and_marks_the_proposal_delivered(world, chat, alice, bob, rasa):
    cid = chat.conversation_id
    p = ask_for(world, chat)
    decide(bob, p, "cosign")
    wording = details(alice, cid)["tellings"][0]["wording"]

    response = deliver(alice, cid, p, text=wording)
    assert response.status == 201, response.text
    assert response.json()["message"]["text"] == wording
    assert appended_texts(rasa, cid)[-1] == wording
    assert stored(world, cid)[-1] == ("alice", wording)
    context = world.ledger.get(p.public_id).context
    assert context["delivered_by"] == "alice" and context["delivered_at"] and context["told_in"] == cid
    assert details(alice, cid)["tellings"] == []
    # Once: a second delivery is refused and nothing more reaches the customer.
    again = deliver(alice, cid, p, text="Good news again")
    assert again.status == 409 and "already told" in again.json()["error"]
    assert appended_texts(rasa, cid)[-1] == wording
    # Delivered: no longer waiting in the queue's "Approved — tell the customer".
    assert p.public_id not in alice.get("/queue").text


def test_only_the_owner_delivers_an_approval(world, chat, alice, bob, sam, rasa):
    cid = chat.conversation_id
    p = ask_for(world, chat)
    decide(bob, p, "cosign")
    before = len(appended_texts(rasa, cid))
    for other in (bob, sam):
        refused = deliver(other, cid, p)
        assert refused.status == 403 and "alice owns this chat" in refused.json()["error"]
    assert len(appended_texts(rasa, cid)) == before and not world.ledger.get(p.public_id).context.get("delivered_by")
    assert deliver(alice, cid, p).status == 201


def test_an_approval_in_a_chat_nobody_has_taken_waits_for_whoever_takes_it(world, chat, alice, bob, sam, rasa):
    cid = chat.conversation_id
    p = ask_for(world, chat)
    decide(sam, p, "approve")
    world.services.conversations.release(cid, "alice")
    [telling] = details(alice, cid)["tellings"]
    assert telling["teller"] is None and telling["mine"] is False
    refused = deliver(alice, cid, p)
    assert refused.status == 403 and "take the chat first" in refused.json()["error"]


# -- rejected by a supervisor: the supervisor tells ----------------------------------------------------
def test_a_supervisors_rejection_is_theirs_to_deliver_with_the_agents_alternatives(world, chat, alice, sam):
    cid = chat.conversation_id
    p = ask_for(world, chat, tier="supervisor")
    response = decide(sam, p, "reject")
    assert response.status == 303 and response.location == f"/live/{cid}"  # straight to the chat

    [telling] = details(sam, cid)["tellings"]
    assert (telling["outcome"], telling["teller"], telling["mine"]) == ("rejected", "sam", True)
    # Never a bare no: what alice may give instead, one per remedy, without the refused one or
    # anything beyond an agent's authority.
    assert telling["alternatives"] == ["$38.70 back", "$51.60 in credit"]
    wording = telling["wording"]
    assert "can't approve it" in wording and "$38.70 back; or $51.60 in credit" in wording and "Alice" in wording
    assert "a new set" not in wording
    assert details(alice, cid)["tellings"][0]["mine"] is False

    queue = sam.get("/queue").text
    assert 'id="to-deliver"' in queue and p.public_id in queue and f'href="/live/{cid}"' in queue
    assert 'id="to-deliver"' not in alice.get("/queue").text  # not the requester's to deliver


def test_the_rejecting_supervisor_delivers_in_a_chat_they_do_not_own(world, chat, alice, sam, rasa):
    cid = chat.conversation_id
    p = ask_for(world, chat, tier="supervisor")
    decide(sam, p, "reject")
    wording = details(sam, cid)["tellings"][0]["wording"]

    response = deliver(sam, cid, p, text=wording)
    assert response.status == 201, response.text
    assert world.services.conversations.get(cid).owner == "alice"  # alice keeps the chat
    assert stored(world, cid)[-1] == ("sam", wording)
    assert rasa.appended[-1][2] == [
        {"event": "bot", "text": wording, "metadata": {"makegood_agent": "sam", "agent_name": "Sam"}}
    ]
    context = world.ledger.get(p.public_id).context
    assert context["denial_delivered_by"] == "sam" and "delivered_by" not in context
    assert f'<li data-proposal="{p.public_id}">' not in sam.get("/queue").text  # no longer "yours to deliver"
    # That one message only: the chat is still alice's to write in.
    other = sam.post_json(f"/api/conversations/{cid}/messages", {"text": "and another thing"})
    assert other.status == 403


@pytest.mark.parametrize("who", ["alice", "bob", "other_supervisor"])
def test_nobody_but_the_rejecting_supervisor_may_deliver_the_no(world, chat, rasa, who):
    cid = chat.conversation_id
    if "zed" not in {u.name for u in world.accounts.list_users()}:
        world.accounts.add_user("zed", "supervisor", "zed-test-pass")
        world.passwords["zed"] = "zed-test-pass"
    sam = world.signed_in("sam")
    p = ask_for(world, chat, tier="supervisor")
    decide(sam, p, "reject")
    before = len(appended_texts(rasa, cid))
    client = world.signed_in({"other_supervisor": "zed"}.get(who, who))
    refused = deliver(client, cid, p)
    assert refused.status == 403 and "rejected by sam; only they tell the customer" in refused.json()["error"]
    assert len(appended_texts(rasa, cid)) == before and stored(world, cid) == []
    assert "denial_delivered_by" not in world.ledger.get(p.public_id).context


def test_a_peers_rejection_is_the_owners_to_tell(world, chat, alice, bob):
    cid = chat.conversation_id
    p = ask_for(world, chat, tier="peer")
    assert decide(bob, p, "reject").location == f"/proposals/{p.public_id}"  # an agent stays on the proposal
    [telling] = details(alice, cid)["tellings"]
    assert (telling["teller"], telling["mine"]) == ("alice", True) and "$38.70 back" in telling["wording"]
    assert deliver(alice, cid, p, text=telling["wording"]).status == 201
    assert world.ledger.get(p.public_id).context["denial_delivered_by"] == "alice"


# -- bad requests -----------------------------------------------------------------------------------
def test_bad_deliveries_are_refused_with_a_reason_and_nothing_is_sent(world, chat, alice, bob, rasa):
    cid = chat.conversation_id
    p = ask_for(world, chat)
    before = len(appended_texts(rasa, cid))
    pending = deliver(alice, cid, p)
    assert pending.status == 400 and "pending" in pending.json()["error"]
    decide(bob, p, "cosign")
    assert deliver(alice, cid, p, text="   ").status == 400
    missing = alice.post_json(f"/api/conversations/{cid}/deliveries", {"text": "hi"})
    assert missing.status == 400 and "proposal_id" in missing.json()["error"]
    unknown = alice.post_json(f"/api/conversations/{cid}/deliveries", {"proposal_id": "P-ZZZZZZ", "text": "hi"})
    assert unknown.status == 404
    elsewhere = world.handoff()
    world.services.conversations.hand_over(elsewhere.conversation_id, proposal_id=None, reason="x")
    wrong_chat = deliver(alice, elsewhere.conversation_id, p)
    assert wrong_chat.status == 400 and "was not asked in conversation" in wrong_chat.json()["error"]
    no_csrf = alice.post_json(f"/api/conversations/{cid}/deliveries", {"proposal_id": p.public_id}, csrf=False)
    assert no_csrf.status == 403 and "CSRF" in no_csrf.json()["error"]
    reviewer = world.signed_in("rita")
    assert deliver(reviewer, cid, p).status == 403
    assert len(appended_texts(rasa, cid)) == before and not world.ledger.get(p.public_id).context.get("delivered_by")


# -- the customer's push --------------------------------------------------------------------------------
def read_stream(world, sender):
    request = urllib.request.Request(f"{world.base_url}/chat/events?sender={sender}")
    with urllib.request.urlopen(request, timeout=30) as response:
        text = response.read().decode()
    return [
        json.loads(dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)["data"])
        for block in text.strip().split("\n\n")
        if "event: message" in block
    ]


def test_the_delivered_message_reaches_the_customers_push_stream(world, chat, alice, bob, sam, monkeypatch):
    monkeypatch.setattr(live, "STREAM_S", 0.5)
    cid = chat.conversation_id
    approved, rejected = ask_for(world, chat), ask_for(world, chat, tier="supervisor", requested_by="bob")
    decide(bob, approved, "cosign")
    decide(sam, rejected, "reject")
    assert deliver(alice, cid, approved, text="Good news: approved.").status == 201
    assert deliver(sam, cid, rejected, text="I can't approve that, but Alice can offer $38.70 back.").status == 201
    assert [(m["text"], m["agent_name"]) for m in read_stream(world, cid)] == [
        ("Good news: approved.", "Alice"),
        ("I can't approve that, but Alice can offer $38.70 back.", "Sam"),
    ]


def test_a_no_with_nothing_left_to_offer_still_names_the_person_who_stays(world, chat, sam):
    cid = chat.conversation_id
    p = world.ledger.log_proposal(
        ProposalIn(
            conversation_id=cid,
            turn_key="copilot:nothing-left",
            channel="copilot",
            situation="damaged_item",
            policy_version=world.services.catalog.version,
            tier_required="supervisor",
            facts=chat.facts,
            options_offered=[BEYOND_THE_AGENT],
            option_chosen={**ASK, "required_tier": "supervisor"},
            context={},
            requested_by="alice",
            status="pending",
            customer_id=chat.customer_id,
            order_id=chat.order_id,
        )
    )
    decide(sam, p, "reject")
    [telling] = [t for t in details(sam, cid)["tellings"] if t["proposal_id"] == p.public_id]
    assert telling["alternatives"] == []
    assert "can't approve it" in telling["wording"] and "Alice stays with you here" in telling["wording"]
