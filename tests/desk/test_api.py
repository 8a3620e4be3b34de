"""The copilot HTTP API over real HTTP: authentication (bearer, session + CSRF), roles,
validation, size limits, the OpenAPI document."""

from __future__ import annotations

import json
import uuid

import pytest

pytestmark = pytest.mark.integration

SMASHED = [
    {"speaker": "customer", "text": "my dinner set from order MG-10422 arrived smashed to pieces"},
    {"speaker": "agent", "text": "I'm so sorry to hear that"},
]


def suggest_body(**extra):
    return {"turns": SMASHED, **extra}


# -- suggest ----------------------------------------------------------------------------------------
def test_suggest_with_session_and_csrf(alice):
    r = alice.post_json("/api/copilot/suggest", suggest_body())
    assert r.status == 200, r.text
    s = r.json()
    assert s["situation"] == "damaged_item"
    assert s["tier"] == "agent"
    assert s["order_id"] == "MG-10422" and s["customer_id"] == "C-1001"
    assert s["in_authority"], "a gold customer's damaged dinner set has options within an agent's authority"
    for option in s["in_authority"]:
        assert option["rule"].startswith("damaged_item.") and option["text"]
        assert isinstance(option["size"], str)  # money as text, never float
    assert set(s["needs_approval"]) == {"peer", "supervisor", "manager"}
    assert set(s["phrasing"]) == {"listen", "apologize", "solve", "thank"}
    assert r.headers["Content-Type"].startswith("application/json")


def test_suggest_with_bearer_token_needs_no_cookie_or_csrf(world):
    client = world.client()
    r = client.post_json("/api/copilot/suggest", suggest_body(), csrf=False, token=world.token("bob"))
    assert r.status == 200, r.text
    assert r.json()["situation"] == "damaged_item"


def test_suggest_shows_options_needing_approval(alice):
    body = {"turns": [{"speaker": "customer", "text": "my watch arrived broken"}], "order_id": "MG-10443"}
    s = alice.post_json("/api/copilot/suggest", body).json()
    assert s["situation"] == "damaged_item"
    assert any(o["remedy"] == "full_refund" for o in s["needs_approval"]["peer"])


def test_suggest_without_a_situation_yet_still_answers(alice):
    s = alice.post_json("/api/copilot/suggest", {"turns": [{"speaker": "customer", "text": "hello"}]}).json()
    assert s["situation"] is None
    assert s["phrasing"]["listen"]


def test_session_without_csrf_header_is_forbidden(alice):
    r = alice.post_json("/api/copilot/suggest", suggest_body(), csrf=False)
    assert r.status == 403
    assert "X-CSRF-Token" in r.json()["error"]


def test_session_with_wrong_csrf_header_is_forbidden(alice):
    saved = alice.csrf
    alice.csrf = "not-the-token"
    try:
        r = alice.post_json("/api/copilot/suggest", suggest_body())
    finally:
        alice.csrf = saved
    assert r.status == 403


def test_no_authentication_is_401(world):
    r = world.client().post_json("/api/copilot/suggest", suggest_body(), csrf=False)
    assert r.status == 401
    assert "error" in r.json()
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    r = world.client().post_json("/api/copilot/log", {"conversation_id": "x"}, csrf=False)
    assert r.status == 401


def test_a_wrong_bearer_token_is_401_even_with_a_valid_session(alice):
    r = alice.post_json("/api/copilot/suggest", suggest_body(), token="not-a-token")
    assert r.status == 401


@pytest.mark.parametrize("name", ["rita", "ada"])
def test_reviewers_and_admins_cannot_use_the_copilot(world, name):
    session = world.signed_in(name)
    r = session.post_json("/api/copilot/suggest", suggest_body())
    assert r.status == 403
    assert "agents and supervisors" in r.json()["error"]
    r = world.client().post_json(
        "/api/copilot/log",
        {"conversation_id": "c", "situation": "damaged_item", "remedy": "store_credit", "order_id": "MG-10422"},
        csrf=False,
        token=world.token(name),
    )
    assert r.status == 403


def test_malformed_json_is_400(alice):
    r = alice.post_json("/api/copilot/suggest", raw=b'{"turns": [')
    assert r.status == 400
    assert "not valid JSON" in r.json()["error"]
    r = alice.post_json("/api/copilot/suggest", raw=b"")
    assert r.status == 400
    r = alice.post_json("/api/copilot/suggest", raw=b"[1, 2]")
    assert r.status == 400 and "JSON object" in r.json()["error"]


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "turns"),
        ({"turns": "customer: hi"}, "turns"),
        ({"turns": [{"speaker": "customer", "text": 5}]}, "turns[0].text"),
        ({"turns": [{"speaker": "robot", "text": "hi"}]}, "turns[0].speaker"),
        ({"turns": ["hi"]}, "turns[0]"),
        ({"turns": SMASHED, "order_id": 10422}, "order_id"),
        ({"turns": SMASHED, "customer_id": ["C-1001"]}, "customer_id"),
        ({"turns": SMASHED, "facts": ["disputed_amount"]}, "facts"),
        ({"turns": SMASHED, "facts": {"disputed_amount": {"value": 5}}}, "facts.disputed_amount"),
    ],
)
def test_wrong_types_are_400_naming_the_field(alice, body, field):
    r = alice.post_json("/api/copilot/suggest", body)
    assert r.status == 400, r.text
    assert r.json()["error"].startswith(field), r.json()["error"]


def test_unknown_fact_is_400_naming_it(alice):
    r = alice.post_json("/api/copilot/suggest", suggest_body(facts={"shoe_size": "42"}))
    assert r.status == 400
    assert "shoe_size" in r.json()["error"]


def test_company_facts_cannot_be_sent(alice):
    r = alice.post_json("/api/copilot/suggest", suggest_body(facts={"membership": "platinum"}))
    assert r.status == 400
    assert "membership" in r.json()["error"]


def test_bodies_over_one_megabyte_are_413(alice):
    big = json.dumps({"turns": [{"speaker": "customer", "text": "x" * 1_100_000}]}).encode()
    r = alice.post_json("/api/copilot/suggest", raw=big)
    assert r.status == 413
    assert "1 MB" in r.json()["error"]


def test_language_model_down_is_503(world, alice):
    world.understanding.down = True
    try:
        r = alice.post_json("/api/copilot/suggest", suggest_body())
    finally:
        world.understanding.down = False
    assert r.status == 503
    assert "not reachable" in r.json()["error"]


# -- log --------------------------------------------------------------------------------------------
def log_body(**extra):
    body = {
        "conversation_id": f"desk-test-{uuid.uuid4().hex[:8]}",
        "situation": "damaged_item",
        "order_id": "MG-10422",
        "remedy": "store_credit",
        "transcript": SMASHED,
    }
    body.update(extra)
    return body


def test_log_an_option_within_authority(world, alice):
    body = log_body(idempotency_key=uuid.uuid4().hex)
    r = alice.post_json("/api/copilot/log", body)
    assert r.status == 201, r.text
    p = r.json()
    assert p["status"] == "accepted" and p["requested_by"] == "alice" and p["channel"] == "copilot"
    assert p["public_id"].startswith("P-")
    stored = world.ledger.get(p["public_id"])
    assert stored.context["transcript"][0]["text"].startswith("my dinner set")
    again = alice.post_json("/api/copilot/log", body)
    assert again.status == 200
    assert again.json()["public_id"] == p["public_id"]


def test_log_an_option_needing_a_peer_goes_to_colleagues(world, alice, bob):
    body = log_body(order_id="MG-10443", remedy="full_refund", customer_ask={"remedy": "full_refund", "size": "219.00"})
    r = alice.post_json("/api/copilot/log", body)
    assert r.status == 201, r.text
    p = r.json()
    assert p["status"] == "pending" and p["tier_required"] == "peer"
    assert p["public_id"] in section(alice.get("/queue").text, "waiting")
    assert p["public_id"] in section(bob.get("/queue").text, "needs-you")


def test_log_with_a_bearer_token(world):
    r = world.client().post_json(
        "/api/copilot/log", log_body(remedy="goodwill_voucher"), csrf=False, token=world.token("sam")
    )
    assert r.status == 201, r.text
    assert r.json()["requested_by"] == "sam"


@pytest.mark.parametrize(
    "change, message",
    [
        ({"conversation_id": None}, "conversation_id is required"),
        ({"situation": 3}, "situation must be a string"),
        ({"remedy": ""}, "remedy must not be empty"),
        ({"size": True}, "size must be an amount"),
        ({"customer_ask": "everything"}, "customer_ask must be an object"),
        ({"transcript": [{"speaker": "customer"}]}, "transcript[0].text"),
        ({"facts": {"tenure_days": 5000}}, "tenure_days"),
        ({"remedy": "free_car"}, "free_car"),
        ({"situation": "alien_invasion"}, "alien_invasion"),
    ],
)
def test_log_refuses_bad_requests_with_400(alice, change, message):
    body = log_body()
    for key, value in change.items():
        if value is None:
            body.pop(key)
        else:
            body[key] = value
    r = alice.post_json("/api/copilot/log", body)
    assert r.status == 400, r.text
    assert message in r.json()["error"]


def test_log_needs_a_known_customer(alice):
    body = log_body()
    body.pop("order_id")
    r = alice.post_json("/api/copilot/log", body)
    assert r.status == 400
    assert "order" in r.json()["error"]


def test_log_refuses_sizes_above_policy(alice):
    r = alice.post_json("/api/copilot/log", log_body(remedy="store_credit", size="100000"))
    assert r.status == 400


# -- the rest of the API ----------------------------------------------------------------------------
def test_openapi_document_describes_both_routes(world, alice):
    assert world.client().get("/api/openapi.json").status == 401
    r = alice.get("/api/openapi.json")
    assert r.status == 200
    doc = r.json()
    assert doc["openapi"].startswith("3.0")
    # Other routes (the live conversations) are described too, and checked by their own tests.
    described = ("/api/copilot/suggest", "/api/copilot/log", "/api/analytics")
    assert set(described) <= set(doc["paths"])
    schemes = doc["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {**schemes["bearerAuth"], "type": "http", "scheme": "bearer"}
    assert schemes["csrfHeader"]["name"] == "X-CSRF-Token"
    for path in (doc["paths"][p] for p in described):
        for method, operation in path.items():
            bodied = {"413"} if method == "post" else set()  # only a request body can be too large
            assert {"200", "400", "401", "403"} | bodied <= set(operation["responses"])

    def refs(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "$ref":
                    yield value
                else:
                    yield from refs(value)
        elif isinstance(node, list):
            for value in node:
                yield from refs(value)

    for ref in refs(doc):
        target = doc
        for part in ref.lstrip("#/").split("/"):
            target = target[part]  # KeyError: a dangling $ref


def test_health_needs_no_sign_in(world):
    r = world.client().get("/health")
    assert r.status == 200 and r.json() == {"status": "ok"}


def test_unknown_api_route_is_json_404(alice):
    r = alice.get("/api/nothing-here")
    assert r.status == 404
    assert "error" in r.json()


def section(html: str, section_id: str) -> str:
    start = html.index(f'id="{section_id}"')
    return html[start : html.index("</section>", start)]
