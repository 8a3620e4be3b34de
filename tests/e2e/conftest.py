"""End-to-end: the real actions server and the real Rasa server, on free loopback ports,
with a fresh SQLite database seeded with the demo customers. Conversations go over REST."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "models" / "makegood.tar.gz"
START_TIMEOUT = 300  # loading a model with TensorFlow on two cores is slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(url: str, proc: subprocess.Popen, log: Path, name: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the {name} exited with {proc.returncode} while starting:\n{log.read_text()[-3000:]}")
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(1)
    pytest.fail(f"the {name} did not answer {url} within {START_TIMEOUT}s:\n{log.read_text()[-3000:]}")


class Bot:
    def __init__(self, rasa_url: str, database_url: str):
        self.rasa_url = rasa_url
        self.database_url = database_url

    def say(self, sender: str, message: str) -> list[str]:
        body = json.dumps({"sender": sender, "message": message}).encode()
        request = urllib.request.Request(f"{self.rasa_url}/webhooks/rest/webhook", data=body,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            return [m.get("text", "") for m in json.load(response)]

    def ledger(self):
        from makegood.ledger import Ledger

        return Ledger.from_url(self.database_url, migrate=False)

    def proposals(self, sender: str):
        return self.ledger().list(conversation_id=sender, limit=50)

    @staticmethod
    def new_sender(label: str) -> str:
        return f"e2e-{label}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def bot(tmp_path_factory) -> Bot:
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}: run `make train` (make test does it for you)")
    work = tmp_path_factory.mktemp("e2e")
    database_url = f"sqlite:///{work / 'makegood.db'}"
    actions_port, rasa_port = _free_port(), _free_port()
    env = {**os.environ, "MAKEGOOD_DATABASE_URL": database_url, "PYTHONPATH": str(ROOT),
           "MAKEGOOD_ACTION_URL": f"http://127.0.0.1:{actions_port}/webhook", "TF_CPP_MIN_LOG_LEVEL": "2", "RASA_TELEMETRY_ENABLED": "false"}
    bin_dir = Path(sys.executable).parent
    for command in (["db", "upgrade"], ["db", "seed-demo"]):
        subprocess.run([str(bin_dir / "makegood"), *command], env=env, cwd=ROOT, check=True, capture_output=True)
    procs = []
    actions_log, rasa_log = work / "actions.log", work / "rasa.log"
    try:
        procs.append(subprocess.Popen(
            [str(bin_dir / "rasa"), "run", "actions", "--actions", "actions", "--port", str(actions_port)],
            cwd=ROOT, env=env, stdout=actions_log.open("w"), stderr=subprocess.STDOUT))
        _wait(f"http://127.0.0.1:{actions_port}/health", procs[-1], actions_log, "actions server")
        procs.append(subprocess.Popen(
            [str(bin_dir / "rasa"), "run", "--model", str(MODEL), "--endpoints", "rasa_project/endpoints.yml",
             "--credentials", "rasa_project/credentials.yml", "--port", str(rasa_port), "--interface", "127.0.0.1"],
            cwd=ROOT, env=env, stdout=rasa_log.open("w"), stderr=subprocess.STDOUT))
        _wait(f"http://127.0.0.1:{rasa_port}/", procs[-1], rasa_log, "Rasa server")
        yield Bot(f"http://127.0.0.1:{rasa_port}", database_url)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
