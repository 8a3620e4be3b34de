"""The desk's cookies and transport headers: Secure unless served on loopback, HSTS over TLS
(directly or via a trusted proxy's X-Forwarded-Proto), as `python -m makegood.desk` builds it."""

from __future__ import annotations

import http.cookies
import uuid

import pytest

from makegood.desk import server
from makegood.desk.app import create_app
from makegood.desk.auth import install_transport_security
from tests.desk.harness import CSRF_INPUT, Client, DeskServer, FakeUnderstanding, make_world


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    w = make_world(tmp_path_factory.mktemp("desk-cookies"))
    yield w
    w.server.stop()
    w.engine.dispose()


@pytest.fixture(scope="module")
def desks(world):
    """name -> base URL of a desk on the world's database with that transport set-up."""
    setups = {
        "auto": dict(),
        "proxied": dict(trusted_proxies=("127.0.0.1",)),
        "never": dict(secure_cookies="never"),
        "always": dict(secure_cookies="always"),
    }
    running = {}
    for label, options in setups.items():
        app = create_app(
            lambda: world.services,
            world.accounts,
            FakeUnderstanding(),
            rasa_url="http://127.0.0.1:9",
            name=f"makegood_desk_cookies_{label}_{uuid.uuid4().hex[:6]}",
        )
        install_transport_security(app, **options)
        running[label] = DeskServer(app).start()
    yield {label: desk.base_url for label, desk in running.items()}
    for desk in running.values():
        desk.stop()


def cookies_of(response) -> dict[str, http.cookies.Morsel]:
    found = {}
    for header in response.headers.get_all("Set-Cookie") or []:
        jar = http.cookies.SimpleCookie()
        jar.load(header)
        found.update(jar)
    return found


def login_page(base_url: str, **headers):
    response = Client(base_url).get("/login", headers=headers)
    assert response.status == 200
    return response, cookies_of(response)["mg_login"]


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "localhost:8000", "[::1]:8000", "localhost"])
def test_cookies_are_not_secure_on_loopback_so_plain_http_make_run_works(desks, host):
    response, cookie = login_page(desks["auto"], Host=host)
    assert not cookie["secure"]
    assert cookie["httponly"] and cookie["samesite"] == "Strict"
    assert "Strict-Transport-Security" not in response.headers


@pytest.mark.parametrize(
    "headers",
    [
        {"Host": "desk.example.com"},
        {"Host": "10.0.0.5:8000"},
        {"Host": "127.0.0.1:8000", "X-Forwarded-For": "203.0.113.9"},
        {"Host": "localhost", "Forwarded": "for=203.0.113.9;proto=http"},
    ],
    ids=["name", "lan-ip", "behind-a-proxy", "forwarded"],
)
def test_cookies_are_secure_when_not_served_on_loopback(desks, headers):
    _, cookie = login_page(desks["auto"], **headers)
    assert cookie["secure"] is True


def test_the_session_cookie_is_secure_too(desks, world):
    client = Client(desks["auto"])
    host = {"Host": "desk.example.com"}
    page = client.get("/login", headers=host)
    token = CSRF_INPUT.search(page.text).group(1)
    body = f"name=alice&password={world.passwords['alice']}&csrf_token={token}".encode()
    response = client.request(
        "POST", "/login", body=body, headers={**host, "Content-Type": "application/x-www-form-urlencoded"}
    )
    assert response.status == 303
    assert cookies_of(response)["mg_session"]["secure"] is True


def test_hsts_and_secure_behind_a_trusted_tls_proxy(desks):
    response, cookie = login_page(desks["proxied"], Host="127.0.0.1:8000", **{"X-Forwarded-Proto": "https"})
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert cookie["secure"] is True


def test_no_hsts_when_the_forwarded_proto_comes_from_an_untrusted_peer(desks):
    response, _ = login_page(desks["auto"], Host="desk.example.com", **{"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in response.headers


def test_no_hsts_over_plain_http_from_the_trusted_proxy(desks):
    response, _ = login_page(desks["proxied"], Host="desk.example.com", **{"X-Forwarded-Proto": "http"})
    assert "Strict-Transport-Security" not in response.headers


def test_flag_never_and_always(desks):
    assert not login_page(desks["never"], Host="desk.example.com")[1]["secure"]
    assert login_page(desks["always"], Host="127.0.0.1:8000")[1]["secure"] is True


def test_the_desk_command_reads_the_settings(monkeypatch):
    monkeypatch.delenv("MAKEGOOD_DESK_SECURE_COOKIES", raising=False)
    monkeypatch.setenv("MAKEGOOD_DESK_TRUSTED_PROXIES", "10.0.0.1, 10.0.0.2")
    monkeypatch.setenv("MAKEGOOD_RASA_TOKEN", "tok-123")
    args = server.parse_args([])
    assert args.secure_cookie_mode == "auto" and args.trusted_proxies == ("10.0.0.1", "10.0.0.2")
    assert args.rasa_token == "tok-123"
    assert server.parse_args(["--secure-cookies"]).secure_cookie_mode == "always"
    monkeypatch.setenv("MAKEGOOD_DESK_SECURE_COOKIES", "sometimes")
    with pytest.raises(SystemExit):
        server.parse_args([])


def test_unknown_mode_is_refused():
    from sanic import Sanic

    with pytest.raises(ValueError, match="auto, always, never"):
        install_transport_security(Sanic(f"x{uuid.uuid4().hex[:6]}"), secure_cookies="sometimes")
