"""POST /chat/rating against a real desk: a bad rating puts the chat back in front of a person."""

from __future__ import annotations

import uuid

import pytest

from makegood.customers.identity import sign
from makegood.desk.feedback import SECOND_CHANCE, THANKS
from makegood.ledger import ProposalIn
from tests.desk.harness import make_world

pytestmark = pytest.mark.integration
SECRET = "desk-feedback-test-secret-0123456789"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    w = make_world(tmp_path_factory.mktemp("feedback"))
    w.services.identity_secret = SECRET
    yield w
    w.server.stop()
    w.engine.dispose()


def closed_chat(world) -> str:
    """A chat whose case was settled, on a fresh copy of a demo order (no earlier grants)."""
    order_id, customer_id = world.fresh_order("MG-10422")
    sender = f"web-{uuid.uuid4().hex[:12]}"
    world.ledger.log_proposal(
        ProposalIn(
            conversation_id=sender,
            turn_key="grant:2",
            situation="damaged_item",
            policy_version=world.services.catalog.version,
            tier_required="self_service",
            status="accepted",
            customer_id=customer_id,
            order_id=order_id,
            option_chosen={"remedy": "partial_refund", "size": "25.00", "text": "$25 back"},
        )
    )
    return sender


def test_a_good_rating_is_thanked_and_stays_with_the_bot(world):
    sender = closed_chat(world)
    response = world.client().post_json("/chat/rating", {"sender": sender, "stars": 5, "comment": "great"})
    assert response.status == 201, response.text
    assert response.json() == {"stars": 5, "reopened": False, "message": THANKS}
    assert world.services.conversations.find(sender) is None


def test_a_one_star_rating_reopens_the_case_in_the_agents_queue(world):
    sender = closed_chat(world)
    response = world.client().post_json("/chat/rating", {"sender": sender, "stars": 1, "comment": ""})
    assert response.status == 201
    assert response.json()["reopened"] is True and response.json()["message"] == SECOND_CHANCE
    agent = world.signed_in("alice")
    waiting = agent.get("/api/conversations?state=waiting").json()
    rows = waiting["conversations"] if isinstance(waiting, dict) else waiting
    [mine] = [c for c in rows if c["id" if "id" in c else "conversation_id"] == sender]
    assert "rated the chat 1/5" in mine["reason"]
    entries = world.ledger.list(conversation_id=sender)
    assert [p.status for p in entries] == ["pending", "accepted"]


def test_a_comment_that_says_the_problem_is_still_there_reopens_even_at_four_stars(world):
    sender = closed_chat(world)
    response = world.client().post_json(
        "/chat/rating", {"sender": sender, "stars": 4, "comment": "nice bot but the refund still hasn't come"}
    )
    assert response.json()["reopened"] is True


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"sender": "web-nothing-closed", "stars": 3}, 404, "no closed case"),
        ({"sender": "bad sender!", "stars": 3}, 400, "sender must be"),
        ({"stars": 3}, 400, "sender must be"),
        ({"sender": "CLOSED", "stars": 9}, 400, "from 1 to 5"),
        ({"sender": "CLOSED", "stars": "three"}, 400, "from 1 to 5"),
        ({"sender": "CLOSED", "stars": 3, "comment": "x" * 2001}, 400, "at most 2000"),
    ],
)
def test_bad_ratings_get_a_clear_error_and_nothing_is_stored(world, body, status, message):
    sender = closed_chat(world)
    if body.get("sender") == "CLOSED":
        body = {**body, "sender": sender}
    response = world.client().post_json("/chat/rating", body)
    assert response.status == status and message in response.json()["error"]
    assert world.services.conversations.find(sender) is None


def test_a_chat_is_rated_once(world):
    sender = closed_chat(world)
    assert world.client().post_json("/chat/rating", {"sender": sender, "stars": 4}).status == 201
    again = world.client().post_json("/chat/rating", {"sender": sender, "stars": 1})
    assert again.status == 409 and "rated already" in again.json()["error"]


def test_a_token_for_another_customer_cannot_rate_someone_elses_case(world):
    sender = closed_chat(world)
    body = {"sender": sender, "stars": 1, "customer_token": sign("C-1003", SECRET)}
    response = world.client().post_json("/chat/rating", body)
    assert response.status == 404
    assert world.services.conversations.find(sender) is None


def test_not_json_is_a_400(world):
    response = world.client().post_json("/chat/rating", raw=b"stars=5")
    assert response.status == 400 and "must be JSON" in response.json()["error"]
