"""The cluster topology (`make cluster`, docs/operations.md#the-cluster-topology-make-cluster), for real: two Rasa
processes on rasa_project/endpoints-cluster.yml (PostgreSQL tracker store, Redis lock store,
RabbitMQ event broker), one actions server, and nginx round-robin in front, configured by the
same scripts/cluster-nginx-conf.sh that `make cluster` uses.

(a) one conversation's turns alternate between the two processes, directly and through nginx:
    the case opened on one process is resolved on the other, and the ledger has it accepted;
(b) one Rasa process is killed (SIGKILL) mid-conversation: the next turn through nginx is
    served by the other, nothing is lost, and `makegood ledger verify` passes.

Everything here is its own: a fresh PostgreSQL database (dropped afterwards), its own Redis
database number and key prefix, its own RabbitMQ queue (deleted afterwards). Skipped, saying
why, when PostgreSQL, Redis, RabbitMQ or nginx is not there (.ci/run makes sure they are).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.e2e.conftest import Bot
from tests.support.servers import ROOT, Servers, StartError, forget_grants, free_port, wait_for

pytestmark = pytest.mark.e2e

SMASHED = "the dinner set from order MG-10422 arrived smashed to pieces"  # C-1001's order
OFFER = "Here's what I can do for you right now"
PICK = "I'll take the store credit"
REFERENCE = re.compile(r"\bP-[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{6}\b")

POSTGRES_URL = (
    os.environ.get("MAKEGOOD_TEST_POSTGRES_URL", "").strip() or "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_HOST, REDIS_PORT = "127.0.0.1", int(os.environ.get("MAKEGOOD_TEST_REDIS_PORT", "6379"))
REDIS_DB = int(os.environ.get("MAKEGOOD_TEST_REDIS_DB", "7"))  # make cluster uses 1
RABBIT_HOST, RABBIT_PORT = "127.0.0.1", int(os.environ.get("MAKEGOOD_TEST_RABBITMQ_PORT", "5672"))


def joined(replies: list[str]) -> str:
    return "\n".join(replies)


# -- what the topology needs, or a skip that says what is missing ----------------------------------
def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def _nginx() -> str:
    found = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)
    if not found:
        pytest.skip("nginx is not installed (apt-get install nginx; .ci/run and make cluster install it)")
    return found


def _require_services() -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(POSTGRES_URL, future=True)
    try:
        with admin.connect() as db:
            db.execute(text("select 1"))
    except Exception as exc:  # noqa: BLE001 - any failure to connect means: skip, saying why
        pytest.skip(f"PostgreSQL is not reachable at {POSTGRES_URL} ({type(exc).__name__}): cluster tests skipped")
    finally:
        admin.dispose()
    import redis

    try:
        redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DB, socket_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis is not reachable at {REDIS_HOST}:{REDIS_PORT} ({exc}): cluster tests skipped")
    if not _port_open(RABBIT_HOST, RABBIT_PORT):
        pytest.skip(f"RabbitMQ is not reachable at {RABBIT_HOST}:{RABBIT_PORT}: cluster tests skipped")


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def _queue(queue: str, delete: bool = False) -> int:
    """How many messages wait in the queue (it must exist); delete it when asked."""
    import aio_pika

    async def run() -> int:
        connection = await aio_pika.connect(host=RABBIT_HOST, port=RABBIT_PORT, login="guest", password="guest")
        async with connection:
            channel = await connection.channel()
            declared = await channel.declare_queue(queue, passive=True)
            count = declared.declaration_result.message_count
            if delete:
                await declared.delete(if_unused=False, if_empty=False)
            return count

    return asyncio.run(run())


# -- the cluster ----------------------------------------------------------------------------------
class Cluster:
    def __init__(self, servers: Servers, lb: str, access_log: Path, queue: str) -> None:
        self.servers, self.lb, self.access_log, self.queue = servers, lb, access_log, queue
        self.database_url = servers.database_url
        self.signed_in: dict[str, str | None] = {}  # one website session, whichever URL a turn goes to

    def bot(self, url: str) -> Bot:
        bot = Bot(url, self.database_url, self.servers.identity_secret)
        bot.signed_in = self.signed_in
        return bot

    def say(self, url: str, sender: str, message: str) -> list[str]:
        return self.bot(url).say(sender, message)

    def port(self, name: str) -> int:
        return int(self.servers.urls[name].rsplit(":", 1)[1])

    def upstreams(self, at_least: int = 0) -> list[str]:
        """The Rasa process (host:port; "a, b" when nginx moved on from a) of each webhook turn so far.
        nginx logs a request after answering it: wait (briefly) for the lines a caller knows are due."""
        deadline = time.monotonic() + 10
        while True:
            lines = self.access_log.read_text().splitlines() if self.access_log.exists() else []
            found = [
                m.group(1)
                for line in lines
                if "/webhooks/rest/webhook" in line and (m := re.search(r"upstream=(.+?) rt=", line))
            ]
            if len(found) >= at_least or time.monotonic() > deadline:
                return found
            time.sleep(0.1)

    def ensure_both_up(self) -> None:
        """A process an earlier test killed is started again on its port (tests never depend on order)."""
        for name in ("rasa-1", "rasa-2"):
            proc = self.servers.procs[name]
            if proc.poll() is None:
                continue
            port = self.port(name)
            env = {**self.servers.env(), "MAKEGOOD_ACTION_URL": f"{self.servers.urls['actions']}/webhook"}
            log = self.servers.workdir / f"{name}-restarted.log"
            self.servers.procs[name] = subprocess.Popen(
                self.servers.rasa_argv(port), cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT
            )
            wait_for(f"http://127.0.0.1:{port}/", self.servers.procs[name], log, name)

    def new_scenario(self, label: str) -> str:
        """A new conversation with the demo history as seeded (the cumulative limits would otherwise
        make one scenario's store credit on MG-10422 change what the next is offered)."""
        forget_grants(self.database_url)
        return Bot.new_sender(label)

    def accepted(self, sender: str) -> list:
        return [p for p in self.bot(self.lb).proposals(sender) if p.status == "accepted"]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    nginx = _nginx()
    _require_services()
    from sqlalchemy import create_engine, text

    tag = uuid.uuid4().hex[:10]
    database = f"mg_cluster_e2e_{tag}"
    queue = f"makegood_e2e_{tag}"
    key_prefix = f"mgtest{tag}"  # alphanumeric, as Rasa requires
    admin = create_engine(POSTGRES_URL, future=True, isolation_level="AUTOCOMMIT")
    with admin.connect() as db:
        db.execute(text(f'CREATE DATABASE "{database}"'))
    work = tmp_path_factory.mktemp("cluster")
    servers = Servers(
        workdir=work,
        database_url=_with_database(POSTGRES_URL, database),
        endpoints="rasa_project/endpoints-cluster.yml",
        rasa_processes=2,
        extra_env={
            "MAKEGOOD_REDIS_HOST": REDIS_HOST,
            "MAKEGOOD_REDIS_PORT": str(REDIS_PORT),
            "MAKEGOOD_REDIS_DB": str(REDIS_DB),
            "MAKEGOOD_REDIS_KEY_PREFIX": key_prefix,
            "MAKEGOOD_RABBITMQ_HOST": RABBIT_HOST,
            "MAKEGOOD_RABBITMQ_PORT": str(RABBIT_PORT),
            "MAKEGOOD_RABBITMQ_USER": "guest",
            "MAKEGOOD_RABBITMQ_PASSWORD": "guest",
            "MAKEGOOD_RABBITMQ_QUEUE": queue,
        },
    )
    nginx_proc = None
    try:
        try:
            servers.start()
        except StartError as exc:
            pytest.fail(str(exc))
        prefix = work / "nginx"
        prefix.mkdir()
        lb_port = free_port()
        rasa_ports = " ".join(servers.urls[name].rsplit(":", 1)[1] for name in ("rasa-1", "rasa-2"))
        conf = subprocess.run(
            [str(ROOT / "scripts" / "cluster-nginx-conf.sh"), str(prefix), "127.0.0.1", str(lb_port), rasa_ports],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        (prefix / "nginx.conf").write_text(conf)
        nginx_log = prefix / "nginx-error.log"
        nginx_proc = subprocess.Popen(
            [nginx, "-c", str(prefix / "nginx.conf"), "-p", str(prefix), "-e", str(nginx_log)],
            stdout=nginx_log.open("a"),
            stderr=subprocess.STDOUT,
        )
        lb = f"http://127.0.0.1:{lb_port}"
        wait_for(f"{lb}/", nginx_proc, nginx_log, "nginx", timeout=30)
        yield Cluster(servers, lb, prefix / "nginx-access.log", queue)
    finally:
        if nginx_proc is not None and nginx_proc.poll() is None:
            nginx_proc.terminate()
            nginx_proc.wait(timeout=20)
        servers.stop()
        import redis

        red = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DB)
        for key in red.scan_iter(f"{key_prefix}:*"):
            red.delete(key)
        with contextlib.suppress(Exception):  # no queue: Rasa never connected, nothing to clean
            _queue(queue, delete=True)
        with admin.connect() as db:
            db.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def both_up(cluster) -> Cluster:
    cluster.ensure_both_up()
    return cluster


def test_a_conversation_alternating_between_the_rasa_processes_stays_consistent(both_up):
    c = both_up
    one, two = c.servers.urls["rasa-1"], c.servers.urls["rasa-2"]

    # Directly: the case is opened on process 1 and the option picked on process 2.
    sender = c.new_scenario("cluster-direct")
    assert OFFER in joined(c.say(one, sender, SMASHED))
    text = joined(c.say(two, sender, PICK))
    assert "Done" in text and "$30 in store credit" in text, text
    [proposal] = c.accepted(sender)
    assert proposal.option_chosen["remedy"] == "store_credit" and proposal.public_id in text
    assert proposal.customer_id == "C-1001"

    # Through nginx: round-robin sends the two turns to different processes.
    sender = c.new_scenario("cluster-lb")
    before = len(c.upstreams())
    assert OFFER in joined(c.say(c.lb, sender, SMASHED))
    text = joined(c.say(c.lb, sender, PICK))
    assert "Done" in text and "$30 in store credit" in text, text
    turns = c.upstreams(at_least=before + 2)[before:]
    assert len(turns) == 2 and turns[0] != turns[1], f"nginx did not alternate: {turns}"
    [proposal] = c.accepted(sender)
    assert proposal.option_chosen["remedy"] == "store_credit" and proposal.public_id in text

    # Both processes published the conversation's events to the broker.
    assert _queue(c.queue) > 0


def test_a_killed_rasa_process_loses_nothing_and_nginx_moves_on(both_up):
    c = both_up
    sender = c.new_scenario("cluster-kill")
    assert OFFER in joined(c.say(c.lb, sender, SMASHED))
    offered = c.bot(c.lb).proposals(sender)
    assert [p.status for p in offered] == ["offered"]

    # Kill the process round-robin sends the next turn to: the one that did not serve the last.
    last = c.upstreams(at_least=1)[-1]
    victim_name, survivor_name = ("rasa-1", "rasa-2") if last.endswith(f":{c.port('rasa-2')}") else ("rasa-2", "rasa-1")
    turns_before = len(c.upstreams())
    victim = c.servers.procs[victim_name]
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=10)
    dead, survivor = f"127.0.0.1:{c.port(victim_name)}", f"127.0.0.1:{c.port(survivor_name)}"

    # Through nginx: the dead process refuses the connection, nginx moves on to the survivor.
    text = joined(c.say(c.lb, sender, PICK))
    assert "Done" in text and "$30 in store credit" in text, text
    served = c.upstreams(at_least=turns_before + 1)[-1]
    assert served == f"{dead}, {survivor}", f"expected nginx to try {dead} then {survivor}, got {served}"
    [reference] = set(REFERENCE.findall(text))
    after = c.bot(c.lb).proposals(sender)
    assert {p.public_id for p in after} == {p.public_id for p in offered}  # nothing lost, nothing doubled
    [accepted] = c.accepted(sender)
    assert accepted.public_id == reference and accepted.option_chosen["remedy"] == "store_credit"

    verify = subprocess.run(
        [str(Path(sys.executable).parent / "makegood"), "ledger", "verify"],
        env={**c.servers.env()},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
