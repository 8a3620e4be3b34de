"""The customer chat page and whose chat it is: the page carries a signed customer token (from
the embedding website, or in the demo from the customer picked), /chat/send forwards it to Rasa
as message metadata, and nothing lets the browser choose a customer outside the demo."""

from __future__ import annotations

import re
import uuid

import pytest

from makegood.customers.identity import sign, verify
from tests.desk.harness import make_world

pytestmark = pytest.mark.integration
SECRET = "desk-chat-identity-secret-0123456789"


@pytest.fixture(scope="module")
def world(tmp_path_factory, rasa):
    w = make_world(tmp_path_factory.mktemp("chat-identity"), rasa.url)
    w.services.identity_secret = SECRET
    yield w
    w.server.stop()
    w.engine.dispose()


def page_token(html: str) -> str:
    return re.search(r'data-customer-token="([^"]*)"', html).group(1)


@pytest.fixture
def demo(world):
    world.server.app.ctx.demo_sign_in = True
    yield
    world.server.app.ctx.demo_sign_in = False


def test_outside_the_demo_the_page_cannot_pick_a_customer(world):
    html = world.client().get("/chat?customer=C-1001").text
    assert 'id="chat-customer"' not in html
    assert page_token(html) == ""
    assert "Not signed in" in html


def test_the_demo_signs_the_customer_picked_and_only_a_demo_customer(world, demo):
    html = world.client().get("/chat?customer=C-1003").text
    assert 'id="chat-customer"' in html and "Signed in as C-1003" in html
    assert verify(page_token(html), SECRET) == "C-1003"
    assert page_token(world.client().get("/chat?customer=C-4040").text) == ""


def test_a_website_token_is_carried_and_a_forged_one_dropped(world):
    good = sign("C-1002", SECRET)
    assert page_token(world.client().get(f"/chat?token={good}").text) == good
    forged = sign("C-1002", "another-secret-of-enough-length")
    assert page_token(world.client().get(f"/chat?token={forged}").text) == ""


def test_send_forwards_the_token_to_rasa_as_metadata(world, rasa):
    sender = f"web-{uuid.uuid4().hex[:10]}"
    token = sign("C-1001", SECRET)
    response = world.client().post_json(
        "/chat/send", {"sender": sender, "message": "hello there", "customer_token": token}
    )
    assert response.status == 200, response.text
    assert response.json()["rate"] is False
    [body] = [b for b in rasa.webhook_bodies if b.get("sender") == sender]
    assert body["metadata"] == {"customer_token": token}


@pytest.mark.parametrize("token", [42, ["x"], "t" * 1025])
def test_a_malformed_token_field_is_a_400_and_nothing_reaches_rasa(world, rasa, token):
    sender = f"web-{uuid.uuid4().hex[:10]}"
    response = world.client().post_json("/chat/send", {"sender": sender, "message": "hi", "customer_token": token})
    assert response.status == 400 and "customer_token" in response.json()["error"]
    assert not [b for b in rasa.webhook_bodies if b.get("sender") == sender]
