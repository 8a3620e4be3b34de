"""Start Makegood's servers on free loopback ports against a given database: shared by the
end-to-end tests and `make bench`, so both measure exactly what `make run` starts."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "models" / "makegood.tar.gz"
START_TIMEOUT = 300  # loading a model with TensorFlow on two cores is slow


class StartError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, proc: subprocess.Popen, log: Path, name: str, timeout: float = START_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise StartError(f"the {name} exited with {proc.returncode} while starting:\n{log.read_text()[-3000:]}")
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.5)
    raise StartError(f"the {name} did not answer {url} within {timeout:.0f}s:\n{log.read_text()[-3000:]}")


def peak_memory_mb(pid: int) -> float | None:
    """Peak resident memory (VmHWM) of the process and of its child processes (the actions
    server's workers), summed, from /proc; None where there is no /proc."""

    def peak(p: int) -> float:
        for line in Path(f"/proc/{p}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def children(p: int) -> list[int]:
        found = []
        for task in Path(f"/proc/{p}/task").iterdir():
            found += [int(c) for c in (task / "children").read_text().split()]
        return found

    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        try:
            total += peak(p)
            todo += children(p)
        except OSError:  # no /proc, or a child that has just exited
            if p == pid:
                return None
    return total or None


@dataclass
class Servers:
    workdir: Path
    database_url: str
    model: Path = MODEL
    desk: bool = False
    cors_origins: tuple[str, ...] = ("http://localhost:8000", "http://127.0.0.1:8000")
    extra_env: dict[str, str] = field(default_factory=dict)
    # The cluster tests: rasa_project/endpoints-cluster.yml and two Rasa processes ("rasa-1", "rasa-2").
    endpoints: str = "rasa_project/endpoints.yml"
    rasa_processes: int = 1
    # Fresh secrets per start, passed the way scripts/run.sh passes them.
    # Hex, never urlsafe base64: a token starting with "-" is read by `rasa run --auth-token` as an option.
    rasa_token: str = field(default_factory=lambda: secrets.token_hex(32))
    actions_token: str = field(default_factory=lambda: secrets.token_hex(32))
    identity_secret: str = field(default_factory=lambda: secrets.token_hex(32))
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    urls: dict[str, str] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "MAKEGOOD_DATABASE_URL": self.database_url,
            "PYTHONPATH": str(ROOT),
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "RASA_TELEMETRY_ENABLED": "false",
            "MAKEGOOD_POLICY_PATH": str(ROOT / "policy"),
            "MAKEGOOD_RASA_TOKEN": self.rasa_token,
            "MAKEGOOD_ACTIONS_TOKEN": self.actions_token,
            "MAKEGOOD_IDENTITY_SECRET": self.identity_secret,
            "MAKEGOOD_CHAT_IDENTITY": "required",
            "MAKEGOOD_CORS_ORIGINS": " ".join(self.cors_origins),
            **self.extra_env,
        }

    def _bin(self, name: str) -> str:
        return str(Path(sys.executable).parent / name)

    def _launch(self, name: str, argv: list[str], env: dict[str, str]) -> Path:
        log = self.workdir / f"{name}.log"
        self.procs[name] = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
        return log

    def _start(self, name: str, argv: list[str], health: str, env: dict[str, str]) -> None:
        log = self._launch(name, argv, env)
        wait_for(health, self.procs[name], log, name)

    def actions_argv(self, port: int) -> list[str]:
        """How the actions server is started (the attack suite restarts it the same way)."""
        server = [sys.executable, "-m", "makegood_rasa.action_server", "--actions", "actions"]
        return [*server, "--host", "127.0.0.1", "--port", str(port)]

    def rasa_argv(self, port: int) -> list[str]:
        """How one Rasa process is started (the cluster tests restart one the same way)."""
        return [
            self._bin("rasa"),
            "run",
            "--model",
            str(self.model),
            "--enable-api",
            "--auth-token",
            self.rasa_token,
            "--cors",
            *self.cors_origins,
            "--endpoints",
            str(self.endpoints),
            "--credentials",
            "rasa_project/credentials.yml",
            "--port",
            str(port),
            "--interface",
            "127.0.0.1",
        ]

    def start(self) -> Servers:
        if not self.model.exists():
            raise StartError(f"no trained model at {self.model}: run `make train`")
        env = self.env()
        for command in (["db", "upgrade"], ["db", "seed-demo"]):
            subprocess.run([self._bin("makegood"), *command], env=env, cwd=ROOT, check=True, capture_output=True)
        actions = free_port()
        env["MAKEGOOD_ACTION_URL"] = f"http://127.0.0.1:{actions}/webhook"
        try:
            self._start("actions", self.actions_argv(actions), f"http://127.0.0.1:{actions}/health", env)
            self.urls["actions"] = f"http://127.0.0.1:{actions}"
            # Several Rasa processes (the cluster tests) load their models at the same time.
            names = ["rasa"] if self.rasa_processes == 1 else [f"rasa-{n}" for n in range(1, self.rasa_processes + 1)]
            started = {}
            for name in names:
                port = free_port()
                started[name] = (port, self._launch(name, self.rasa_argv(port), env))
            for name, (port, log) in started.items():
                wait_for(f"http://127.0.0.1:{port}/", self.procs[name], log, name)
                self.urls[name] = f"http://127.0.0.1:{port}"
            self.urls.setdefault("rasa", self.urls[names[0]])
            if self.desk:
                desk = free_port()
                env["MAKEGOOD_RASA_URL"] = self.urls["rasa"]
                self._start(
                    "desk",
                    [sys.executable, "-m", "makegood.desk", "--host", "127.0.0.1", "--port", str(desk)],
                    f"http://127.0.0.1:{desk}/health",
                    env,
                )
                self.urls["desk"] = f"http://127.0.0.1:{desk}"
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def forget_grants(database_url: str) -> None:
    """Give every demo customer back the demo history: remove the grants earlier tests made.
    Tests share one set of servers (TensorFlow starts slowly), and the cumulative limits would
    otherwise let one test's store credit on MG-10422 change what the next test is offered."""
    from sqlalchemy import text

    from makegood.db import make_engine

    engine = make_engine(database_url)
    try:
        with engine.begin() as db:
            db.execute(text("DELETE FROM exception_history WHERE source = 'granted'"))
    finally:
        engine.dispose()
