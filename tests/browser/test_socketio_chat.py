"""A socket.io conversation in headless Debian Chromium against the real Rasa and actions
servers: the page (served by this test from another origin, listed in MAKEGOOD_CORS_ORIGINS)
loads the vendored socket.io client (tests/browser/static/socket.io.min.js, socket.io-client
4.8.1, MIT — nothing is downloaded at run time), asks for a session and chats; the bot's
replies arrive over the socket (polling, then the websocket upgrade)."""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path

import pytest

from tests.support.servers import Servers, StartError, free_port

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

STATIC = Path(__file__).resolve().parent / "static"

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>socket.io chat</title>
<script src="/socket.io.min.js"></script></head>
<body>
<div id="state">connecting</div><div id="session"></div><ol id="log"></ol>
<form id="f"><input id="text" autocomplete="off"><button id="send">Send</button></form>
<script>
  const log = document.getElementById("log");
  const socket = io("RASA_URL", {path: "/socket.io"});
  let session = null;
  socket.on("connect", () => {
    document.getElementById("state").textContent = "connected";
    socket.emit("session_request", {session_id: null});
  });
  socket.on("connect_error", (e) => { document.getElementById("state").textContent = "error: " + e.message; });
  socket.on("session_confirm", (id) => {
    session = id;
    document.getElementById("session").textContent = id;
    document.getElementById("state").textContent = "ready";
  });
  socket.on("bot_uttered", (m) => {
    const li = document.createElement("li");
    li.className = "bot";
    li.textContent = m.text || "";
    log.appendChild(li);
  });
  document.getElementById("f").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const input = document.getElementById("text");
    // The token the website embeds for its signed-in customer (makegood customers token).
    const metadata = {customer_token: "CUSTOMER_TOKEN"};
    socket.emit("user_uttered", {message: input.value, session_id: session, metadata: metadata});
    input.value = "";
  });
</script></body></html>
"""


def page_for(servers: Servers) -> bytes:
    from tests.support.identity import token

    signed = token(servers.identity_secret, "C-1001")  # the owner of MG-10422
    return PAGE.replace("RASA_URL", servers.urls["rasa"]).replace("CUSTOMER_TOKEN", signed).encode()


class _Handler(http.server.SimpleHTTPRequestHandler):
    page = b""

    def do_GET(self):  # http.server's naming
        if self.path in ("/", "/index.html"):
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(self.page)))
            self.end_headers()
            self.wfile.write(self.page)
            return
        super().do_GET()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def chat_page(tmp_path_factory):
    """(page URL, Servers): Rasa and the actions server, and a page on its own origin."""
    page_port = free_port()
    origin = f"http://127.0.0.1:{page_port}"
    work = tmp_path_factory.mktemp("socketio-browser")
    servers = Servers(
        workdir=work, database_url=f"sqlite:///{work / 'makegood.db'}", cors_origins=("http://localhost:8000", origin)
    )
    try:
        servers.start()
    except StartError as exc:
        pytest.fail(str(exc))
    handler = type("Handler", (_Handler,), {"page": page_for(servers)})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", page_port), functools.partial(handler, directory=str(STATIC)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield origin + "/", servers
    finally:
        httpd.shutdown()
        servers.stop()


def _wait(driver, condition, timeout=60):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(condition)


def _bot_lines(driver):
    from selenium.webdriver.common.by import By

    return [li.text for li in driver.find_elements(By.CSS_SELECTOR, "#log li.bot")]


def test_a_customer_chats_over_socketio_in_the_browser_and_gets_replies(browser, chat_page):
    from selenium.webdriver.common.by import By

    url, servers = chat_page
    browser.get(url)
    _wait(browser, lambda d: d.find_element(By.ID, "state").text == "ready")
    session = browser.find_element(By.ID, "session").text
    assert session.startswith("sio-")

    box = browser.find_element(By.ID, "text")
    box.send_keys("the dinner set from order MG-10422 arrived smashed to pieces")
    browser.find_element(By.ID, "send").click()
    _wait(browser, lambda d: any("what do you think would be fair" in t for t in _bot_lines(d)))
    lines = _bot_lines(browser)
    assert "Here's what I can do for you right now:" in lines, lines

    box.send_keys("I'll take the store credit")
    browser.find_element(By.ID, "send").click()
    _wait(browser, lambda d: any("$30 in store credit" in t for t in _bot_lines(d)[len(lines) :]))

    # The websocket upgrade happened (the page is on another origin: CORS and Origin both pass).
    transport = browser.execute_script("return socket.io.engine.transport.name")
    assert transport == "websocket"

    from makegood.ledger import Ledger

    ledger = Ledger.from_url(servers.database_url, migrate=False)
    try:
        [proposal] = ledger.list(conversation_id=session.split(".")[0], limit=5)
    finally:
        ledger.dispose()
    assert proposal.status == "accepted" and proposal.option_chosen["remedy"] == "store_credit"
