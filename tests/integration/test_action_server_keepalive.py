"""The actions server keeps an idle connection open longer than Rasa's client keeps it for reuse.

Rasa's aiohttp client reuses an idle connection for up to 15 s; Sanic's default closes it after
5 s, and when the two cross, Rasa's call fails and the turn's events are lost (seen at 100
conversations at once). Here, for real: a connection left idle past Sanic's default still
answers a second request.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import time

import pytest

from makegood_rasa.action_server import KEEP_ALIVE_SECONDS
from tests.support.servers import ROOT, Servers, free_port, wait_for

pytestmark = pytest.mark.integration

SANIC_DEFAULT_KEEP_ALIVE = 5
AIOHTTP_DEFAULT_KEEP_ALIVE = 15


def _get_health(conn: socket.socket) -> bytes:
    conn.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n")
    return conn.recv(4096)


def test_an_idle_connection_outlives_sanics_default_and_the_next_request_is_answered(tmp_path):
    assert KEEP_ALIVE_SECONDS > AIOHTTP_DEFAULT_KEEP_ALIVE
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "SANIC_KEEP_ALIVE_TIMEOUT"}
    env.update(MAKEGOOD_ACTIONS_TOKEN=secrets.token_hex(16), PYTHONPATH=str(ROOT), MAKEGOOD_ACTIONS_WORKERS="1")
    log = tmp_path / "actions.log"
    proc = subprocess.Popen(
        Servers(workdir=tmp_path, database_url="sqlite://").actions_argv(port),  # as every suite starts it
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/health", proc, log, "actions server")
        with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
            assert _get_health(conn).startswith(b"HTTP/1.1 200")
            time.sleep(SANIC_DEFAULT_KEEP_ALIVE + 1.5)
            assert _get_health(conn).startswith(b"HTTP/1.1 200"), "the server closed the idle connection"
    finally:
        proc.terminate()
        proc.wait(timeout=20)
