"""The desk's sign-in under attack: after repeated failures the login page says sign-in is
paused (HTTP 429 with Retry-After), API-style clients get the same as JSON, a success resets
the account's counter, the lockout ends, and every failure is in the database."""

from __future__ import annotations

import html
import urllib.parse
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import delete, select

from makegood.accounts import schema as t
from tests.desk.harness import CSRF_INPUT

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def clean_slate(world):
    """Every test starts with no counters (they are module-wide: one desk per module)."""
    with world.engine.begin() as c:
        c.execute(delete(t.signin_throttle))
    yield
    with world.engine.begin() as c:
        c.execute(delete(t.signin_throttle))


@pytest.fixture
def erin(world):
    if world.accounts.get("erin") is None:
        world.accounts.add_user("erin", "agent", "erin's password")
    return "erin", "erin's password"


def post_login(client, name, password, accept=None):
    page = client.get("/login")
    token = CSRF_INPUT.search(page.text).group(1)
    body = urllib.parse.urlencode({"name": name, "password": password, "csrf_token": token}).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if accept:
        headers["Accept"] = accept
    return client.request("POST", "/login", body=body, headers=headers)


def test_five_wrong_passwords_pause_sign_in_with_a_clear_notice(world, erin):
    name, password = erin
    client = world.client()
    for _ in range(4):
        r = post_login(client, name, "not the password")
        assert r.status == 401 and "don't match" in html.unescape(r.text)
    fifth = post_login(client, name, "not the password")
    assert fifth.status == 429
    r = post_login(client, name, password)  # the right password, now refused
    assert r.status == 429
    page = html.unescape(r.text)
    assert "Too many failed sign-ins" in page and "paused for 1 minute" in page and 'role="alert"' in page
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    assert "mg_session" not in client.cookies
    assert 'name="csrf_token"' in r.text  # still a working form, to try again later


def test_api_style_clients_get_json_429_with_retry_after(world, erin):
    name, _password = erin
    client = world.client()
    for _ in range(5):
        post_login(client, name, "not the password")
    r = post_login(client, name, "not the password", accept="application/json")
    assert r.status == 429 and r.headers["Content-Type"].startswith("application/json")
    body = r.json()
    assert "Too many failed sign-ins" in body["error"] and body["retry_after"] == int(r.headers["Retry-After"])


def test_a_success_resets_the_counter(world, erin):
    name, password = erin
    client = world.client()
    for _ in range(4):
        post_login(client, name, "not the password")
    assert post_login(client, name, password).status == 303
    other = world.client()
    for _ in range(4):
        assert post_login(other, name, "not the password").status == 401


def test_the_lockout_ends(world, erin):
    name, password = erin
    client = world.client()
    for _ in range(5):
        post_login(client, name, "not the password")
    assert post_login(client, name, password).status == 429
    later = datetime.now(timezone.utc) + timedelta(minutes=2)
    real_clock = world.accounts.now
    world.accounts.now = lambda: later
    try:
        assert post_login(client, name, password).status == 303
    finally:
        world.accounts.now = real_clock


def test_spraying_many_names_from_one_address_is_paused_too(world):
    client = world.client()
    for n in range(20):
        post_login(client, f"guess{n:02d}", "password1")
    r = post_login(client, "alice", world.passwords["alice"])
    assert r.status == 429 and int(r.headers["Retry-After"]) > 0


def test_failures_are_in_the_database_with_name_address_and_time(world, erin):
    name, _password = erin
    before = datetime.now(timezone.utc)
    post_login(world.client(), name, "not the password")
    with world.engine.connect() as c:
        row = c.execute(select(t.signin_failures).order_by(t.signin_failures.c.id.desc()).limit(1)).mappings().one()
    assert row["user_name"] == name and row["address"] == "127.0.0.1" and row["reason"] == "password"
    assert row["created_at"] >= before - timedelta(seconds=1)
